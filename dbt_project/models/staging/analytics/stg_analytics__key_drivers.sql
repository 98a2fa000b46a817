-- One row per analysis, period and predictor of the key-driver analysis (rank_key_drivers task).
with

source as (
    select * from {{ source('analytics', 'key_drivers') }}
),

final as (
    select
        analysis,
        period_month,
        predictor,
        raw_weight,
        importance_pct,
        importance_rank,
        r_squared,
        responses
    from source
)

select * from final
