{{ config(materialized='incremental', unique_key='entry_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per points movement (earn > 0; redeem and expire < 0, so a sum is a balance), from
-- int_points_ledger_entries_classified.
with

entries as (
    select * from {{ ref('int_points_ledger_entries_classified') }}
    where {{ loaded_since_last_run() }}
),

final as (
    select
        entry_id,
        customer_id,
        entry_type,
        reason,
        points,
        points_earned,
        points_redeemed,
        points_expired,
        order_id,
        created_at,
        created_date,
        expires_at,
        _loaded_at
    from entries
)

select * from final
