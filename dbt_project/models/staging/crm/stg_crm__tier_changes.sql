with

source as (
    select * from {{ source('crm', 'crm_tier_changes') }}
),

final as (
    select
        {{ clean_text('tier_change_id') }} as tier_change_id,
        {{ clean_text('customer_id') }} as customer_id,
        lower(from_tier) as from_tier,
        lower(to_tier) as to_tier,
        changed_at,
        {{ clean_text('reason') }} as reason,
        _loaded_at
    from source
)

select * from final
