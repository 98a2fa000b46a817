{{ config(tags=["model_input"]) }}
-- One row per survey response with a likelihood-to-recommend score: the inputs of the
-- key-driver task (cx_warehouse.analytics.drivers, Johnson's relative weights).
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

final as (
    select
        response_id,
        date_trunc('month', response_date)::date as response_month,
        nps_score,
        driver_product,
        driver_service,
        driver_price,
        driver_convenience,
        driver_brand,
        driver_relationship,
        servqual_tangibles_perception,
        servqual_reliability_perception,
        servqual_responsiveness_perception,
        servqual_assurance_perception,
        servqual_empathy_perception
    from responses
    where nps_score is not null
)

select * from final
