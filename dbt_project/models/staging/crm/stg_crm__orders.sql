with

source as (
    select * from {{ source('crm', 'crm_orders') }}
),

final as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('customer_id') }} as customer_id,
        ordered_at,
        {{ business_date('ordered_at') }} as order_date,
        lower(channel) as channel,
        {{ clean_text('store_id') }} as store_id,
        lower(status) as status,
        upper(currency) as currency,
        order_total as order_amount,
        coalesce(discount_total, 0) as discount_amount,
        lower(status) = 'paid' as is_paid,
        updated_at,
        _loaded_at
    from source
)

select * from final
