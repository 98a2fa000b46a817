-- One row per period (day, week, month) and dimension value (overall, channel, touchpoint,
-- journey stage, region, customer segment) that has survey responses, with the counts the
-- satisfaction scores are computed from. Every response counts once in each grain and in
-- each dimension.
with

responses as (
    select * from {{ ref('int_survey_responses_attributed') }}
),

periods as (
    select 'day' as period_grain, response_date as period_start, * from responses
    union all
    select 'week' as period_grain, response_week as period_start, * from responses
    union all
    select 'month' as period_grain, response_month as period_start, * from responses
),

dimensioned as (
    select
        p.*,
        d.dimension,
        d.dimension_value
    from periods as p
    cross join lateral (
        values
        ('overall', 'all'),
        ('channel', p.channel),
        ('touchpoint', p.touchpoint),
        ('journey_stage', p.journey_stage),
        ('region', p.region),
        ('customer_segment', p.customer_segment)
    ) as d (dimension, dimension_value)
),

aggregated as (
    select
        period_grain,
        period_start,
        dimension,
        dimension_value,
        count(*) as responses,
        count(nps_score) as nps_responses,
        count(*) filter (where nps_category = 'promoter') as promoters,
        count(*) filter (where nps_category = 'passive') as passives,
        count(*) filter (where nps_category = 'detractor') as detractors,
        count(csat_score) as csat_responses,
        count(*) filter (where is_csat_satisfied) as csat_satisfied,
        sum(csat_score) as csat_score_sum,
        count(ces_score) as ces_responses,
        sum(ces_score) as ces_score_sum,
        -- with the sum and the count, the CES's standard error (satisfaction_scores)
        sum(ces_score * ces_score) as ces_score_sum_of_squares
    from dimensioned
    group by period_grain, period_start, dimension, dimension_value
),

final as (
    select
        period_grain || '|' || period_start || '|' || dimension || '|' || dimension_value as cell_id,
        *
    from aggregated
)

select * from final
