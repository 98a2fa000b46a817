with

source as (
    select * from {{ source('crm', 'crm_memberships') }}
),

final as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('member_number') }} as member_number,
        lower(tier) as tier,
        joined_at,
        tier_since,
        updated_at,
        _loaded_at
    from source
)

select * from final
