-- One row per response month and SERVQUAL dimension with the mean expectation, perception
-- and gap (perception - expectation; negative = the company falls short). A response counts
-- in a dimension when it rated both expectation and perception, so gap_mean is exactly
-- perception_mean - expectation_mean over the same responses.
{%- set dimensions = ['tangibles', 'reliability', 'responsiveness', 'assurance', 'empathy'] %}
with

responses as (
    select * from {{ ref('fct_survey_responses') }}
),

unpivoted as (
    select
        r.response_month,
        s.servqual_dimension,
        s.expectation,
        s.perception
    from responses as r
    cross join
        lateral (
            values
            {%- for dim in dimensions %}
            ('{{ dim }}', r.servqual_{{ dim }}_expectation, r.servqual_{{ dim }}_perception){{ ',' if not loop.last }}
            {%- endfor %}
        ) as s (servqual_dimension, expectation, perception)
    where s.expectation is not null and s.perception is not null
),

aggregated as (
    select
        response_month,
        servqual_dimension,
        count(*) as responses,
        avg(expectation) as expectation_mean,
        avg(perception) as perception_mean,
        avg(perception - expectation) as gap_mean,
        stddev_samp(perception - expectation) / sqrt(count(*)) as gap_standard_error
    from unpivoted
    group by response_month, servqual_dimension
),

final as (
    select
        response_month || '|' || servqual_dimension as servqual_gap_id,
        response_month,
        servqual_dimension,
        responses::integer as responses,
        expectation_mean::numeric(14, 4) as expectation_mean,
        perception_mean::numeric(14, 4) as perception_mean,
        gap_mean::numeric(14, 4) as gap_mean,
        gap_standard_error::numeric(14, 4) as gap_standard_error,
        {{ is_low_sample('responses') }} as is_low_sample
    from aggregated
)

select * from final
