with

source as (
    select * from {{ source('crm', 'crm_customers') }}
),

final as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        lower({{ clean_text('gender') }}) as gender,
        birth_date,
        {{ clean_text('city') }} as city,
        {{ clean_text('region') }} as region,
        signup_date,
        lower({{ clean_text('signup_channel') }}) as signup_channel,
        coalesce(marketing_opt_in, false) as is_marketing_opt_in,
        {{ normalize_handle('social_handle') }} as social_handle,
        updated_at,
        _loaded_at
    from source
)

select * from final
