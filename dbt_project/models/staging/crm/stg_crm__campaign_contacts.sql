with

source as (
    select * from {{ source('crm', 'crm_campaign_contacts') }}
),

final as (
    select
        {{ clean_text('contact_id') }} as contact_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        lower(campaign_type) as campaign_type,
        lower({{ clean_text('channel') }}) as channel,
        contacted_at,
        {{ clean_text('coupon_code') }} as coupon_code,
        coalesce(responded, false) as has_responded,
        responded_at,
        lower({{ clean_text('response') }}) as response,
        updated_at,
        _loaded_at
    from source
)

select * from final
