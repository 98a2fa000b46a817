{{ config(materialized='incremental', unique_key='response_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per survey response with its scores, NPS category and SERVQUAL gaps
-- (int_survey_responses_scored). Person keys are not stored here (a later identifier can
-- merge two people): marts join int_persons_resolved when they aggregate.
with

responses as (
    select * from {{ ref('int_survey_responses_scored') }}
    where {{ loaded_since_last_run() }}
),

final as (
    select
        response_id,
        survey_id,
        submitted_at,
        response_date,
        response_week,
        response_month,
        respondent_customer_id,
        channel,
        touchpoint,
        journey_stage,
        language,
        nps_score,
        nps_category,
        csat_score,
        is_csat_satisfied,
        ces_score,
        {%- for dim in ['tangibles', 'reliability', 'responsiveness', 'assurance', 'empathy'] %}
        servqual_{{ dim }}_expectation,
        servqual_{{ dim }}_perception,
        servqual_{{ dim }}_gap,
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
