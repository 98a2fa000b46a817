-- One row per response month, measure group (perceived_value, driver) and measure with the
-- mean rating (1-7) of the responses that rated it. Long, not wide: every measure is a
-- rating on the same scale, so one BI chart filters by group and plots measure by month.
{%- set measures = [
    ('perceived_value', 'functional', 'value_functional'),
    ('perceived_value', 'emotional', 'value_emotional'),
    ('perceived_value', 'social', 'value_social'),
    ('driver', 'product', 'driver_product'),
    ('driver', 'service', 'driver_service'),
    ('driver', 'price', 'driver_price'),
    ('driver', 'convenience', 'driver_convenience'),
    ('driver', 'brand', 'driver_brand'),
    ('driver', 'relationship', 'driver_relationship'),
] %}
with

responses as (
    select * from {{ ref('fct_survey_responses') }}
),

unpivoted as (
    select
        r.response_month,
        m.measure_group,
        m.measure,
        m.rating
    from responses as r
    cross join
        lateral (
            values
            {%- for group, measure, column in measures %}
            ('{{ group }}', '{{ measure }}', r.{{ column }}){{ ',' if not loop.last }}
            {%- endfor %}
        ) as m (measure_group, measure, rating)
    where m.rating is not null
),

aggregated as (
    select
        response_month,
        measure_group,
        measure,
        count(*) as responses,
        avg(rating) as rating_mean
    from unpivoted
    group by response_month, measure_group, measure
),

final as (
    select
        response_month || '|' || measure_group || '|' || measure as rating_id,
        response_month,
        measure_group,
        measure,
        responses::integer as responses,
        rating_mean::numeric(14, 4) as rating_mean,
        {{ is_low_sample('responses') }} as is_low_sample
    from aggregated
)

select * from final
