with

source as (
    select * from {{ source('crm', 'crm_points_ledger') }}
),

final as (
    select
        {{ clean_text('entry_id') }} as entry_id,
        {{ clean_text('customer_id') }} as customer_id,
        lower(entry_type) as entry_type,
        lower({{ clean_text('reason') }}) as reason,
        -- signed: earn > 0, redeem and expire < 0, so a sum is a balance
        points,
        {{ clean_text('order_id') }} as order_id,
        created_at,
        expires_at,
        _loaded_at
    from source
)

select * from final
