-- One row per key-driver analysis ('drivers': the six driver ratings, 'servqual': the five
-- SERVQUAL perceptions), period and predictor: each predictor's Johnson relative weight on
-- the likelihood to recommend, written by the rank_key_drivers task (analytics.key_drivers).
-- period_month is null for the analysis over the whole history.
with

key_drivers as (
    select * from {{ ref('stg_analytics__key_drivers') }}
),

final as (
    select
        analysis || '|' || coalesce(period_month::text, 'all') || '|' || predictor as key_driver_id,
        analysis::text as analysis,
        period_month::date as period_month,
        predictor::text as predictor,
        raw_weight::double precision as raw_weight,
        importance_pct::double precision as importance_pct,
        importance_rank::integer as importance_rank,
        r_squared::double precision as r_squared,
        responses::integer as responses
    from key_drivers
)

select * from final
