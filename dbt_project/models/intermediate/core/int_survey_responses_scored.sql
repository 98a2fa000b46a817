-- One row per survey response with its scores, NPS category and SERVQUAL gaps. Person keys
-- are not stored here (a later identifier can merge two people): models join
-- int_persons_resolved when they aggregate.
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

final as (
    select
        response_id,
        survey_id,
        submitted_at,
        response_date,
        date_trunc('week', response_date)::date as response_week,
        date_trunc('month', response_date)::date as response_month,
        respondent_customer_id,
        coalesce(channel, 'unknown') as channel,
        coalesce(touchpoint, 'unknown') as touchpoint,
        coalesce(journey_stage, 'unknown') as journey_stage,
        language,
        nps_score,
        {{ nps_category('nps_score') }} as nps_category,
        csat_score,
        csat_score >= 4 as is_csat_satisfied,
        ces_score,
        {%- for dim in ['tangibles', 'reliability', 'responsiveness', 'assurance', 'empathy'] %}
        servqual_{{ dim }}_expectation,
        servqual_{{ dim }}_perception,
        servqual_{{ dim }}_perception - servqual_{{ dim }}_expectation as servqual_{{ dim }}_gap,
        {%- endfor %}
        value_functional,
        value_emotional,
        value_social,
        driver_product,
        driver_service,
        driver_price,
        driver_convenience,
        driver_brand,
        driver_relationship,
        comment,
        _loaded_at
    from responses
)

select * from final
