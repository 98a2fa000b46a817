-- One row per period (day, week, month), dimension and dimension value with survey responses:
-- NPS with its standard error and 95% interval, CSAT and CES (with the CES's standard error),
-- and the change of NPS from the previous period of the same cell with its significance.
-- Cells under the minimum sample (config/business.yml satisfaction.min_responses) are
-- flagged, not dropped.
with

cells as (
    select * from {{ ref('int_satisfaction_cells_aggregated') }}
),

scored as (
    select
        *,
        {{ nps('promoters', 'detractors', 'nps_responses') }} as nps,
        {{ nps_standard_error('promoters', 'detractors', 'nps_responses') }} as nps_standard_error,
        {{ pct('csat_satisfied', 'csat_responses') }} as csat_pct,
        csat_score_sum::numeric / nullif(csat_responses, 0) as csat_mean,
        ces_score_sum::numeric / nullif(ces_responses, 0) as ces_mean,
        {{ mean_standard_error('ces_score_sum::numeric', 'ces_score_sum_of_squares', 'ces_responses') }}
            as ces_mean_standard_error,
        {{ is_low_sample('nps_responses') }} as is_low_sample,
        {{ is_low_sample('csat_responses') }} as is_csat_low_sample,
        {{ is_low_sample('ces_responses') }} as is_ces_low_sample,
        {{ previous_period_start('period_grain', 'period_start') }} as previous_period_start
    from cells
),

with_interval as (
    select
        *,
        {{ nps_ci_low('nps', 'nps_standard_error') }} as nps_ci_low,
        {{ nps_ci_high('nps', 'nps_standard_error') }} as nps_ci_high
    from scored
),

-- the same cell one period earlier (absent when it had no responses)
compared as (
    select
        cur.*,
        prev.nps as previous_nps,
        prev.is_low_sample as is_previous_low_sample,
        cur.nps - prev.nps as nps_change,
        {{ nps_change_standard_error('cur.nps_standard_error', 'prev.nps_standard_error') }} as nps_change_se
    from with_interval as cur
    left join scored as prev
        on
            prev.period_grain = cur.period_grain
            and prev.dimension = cur.dimension
            and prev.dimension_value = cur.dimension_value
            and prev.period_start = cur.previous_period_start
),

final as (
    select
        cell_id as score_id,
        period_grain,
        period_start,
        dimension,
        dimension_value,
        responses::integer as responses,
        nps_responses::integer as nps_responses,
        promoters::integer as promoters,
        passives::integer as passives,
        detractors::integer as detractors,
        nps::numeric(14, 4) as nps,
        nps_standard_error::numeric(14, 4) as nps_standard_error,
        nps_ci_low::numeric(14, 4) as nps_ci_low,
        nps_ci_high::numeric(14, 4) as nps_ci_high,
        is_low_sample,
        csat_responses::integer as csat_responses,
        csat_pct::numeric(14, 4) as csat_pct,
        csat_mean::numeric(14, 4) as csat_mean,
        is_csat_low_sample,
        ces_responses::integer as ces_responses,
        ces_mean::numeric(14, 4) as ces_mean,
        is_ces_low_sample,
        previous_period_start,
        previous_nps::numeric(14, 4) as previous_nps,
        nps_change::numeric(14, 4) as nps_change,
        nps_change_se::numeric(14, 4) as nps_change_se,
        {{ is_nps_change_significant('nps_change', 'nps_change_se', 'is_low_sample', 'is_previous_low_sample') }}
            as is_nps_change_significant,
        ces_mean_standard_error::numeric(14, 4) as ces_mean_standard_error
    from compared
)

select * from final
