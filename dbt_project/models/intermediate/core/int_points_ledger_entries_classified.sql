-- One row per points movement (earn > 0; redeem and expire < 0, so a sum is a balance), split
-- into earned, redeemed and expired points, with its business date.
with

entries as (
    select * from {{ ref('stg_crm__points_ledger_entries') }}
),

final as (
    select
        entry_id,
        customer_id,
        entry_type,
        reason,
        points,
        greatest(points, 0) as points_earned,
        case when entry_type = 'redeem' then -points else 0 end as points_redeemed,
        case when entry_type = 'expire' then -points else 0 end as points_expired,
        order_id,
        created_at,
        {{ business_date('created_at') }} as created_date,
        expires_at,
        _loaded_at
    from entries
)

select * from final
