with

source as (
    select * from {{ source('survey', 'survey_responses') }}
),

final as (
    select
        {{ clean_text('response_id') }} as response_id,
        {{ clean_text('survey_id') }} as survey_id,
        submitted_at,
        {{ business_date('submitted_at') }} as response_date,
        {{ normalize_email('respondent_email') }} as respondent_email,
        {{ clean_text('respondent_customer_id') }} as respondent_customer_id,
        lower(channel) as channel,
        lower(touchpoint) as touchpoint,
        lower(journey_stage) as journey_stage,
        lower(language) as language,
        nps as nps_score,
        csat as csat_score,
        ces as ces_score,
        servqual_tangibles_expectation,
        servqual_tangibles_perception,
        servqual_reliability_expectation,
        servqual_reliability_perception,
        servqual_responsiveness_expectation,
        servqual_responsiveness_perception,
        servqual_assurance_expectation,
        servqual_assurance_perception,
        servqual_empathy_expectation,
        servqual_empathy_perception,
        value_functional,
        value_emotional,
        value_social,
        driver_product,
        driver_service,
        driver_price,
        driver_convenience,
        driver_brand,
        driver_relationship,
        {{ clean_text('comment') }} as comment,
        _loaded_at
    from source
)

select * from final
