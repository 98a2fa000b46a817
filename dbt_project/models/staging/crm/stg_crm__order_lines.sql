with

source as (
    select * from {{ source('crm', 'crm_order_lines') }}
),

final as (
    select
        {{ clean_text('order_id') }} || '-' || line_number as order_line_id,
        {{ clean_text('order_id') }} as order_id,
        line_number,
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('product_name') }} as product_name,
        lower({{ clean_text('category') }}) as category,
        quantity,
        unit_price,
        coalesce(discount, 0) as discount_amount,
        quantity * unit_price - coalesce(discount, 0) as line_amount,
        updated_at,
        _loaded_at
    from source
)

select * from final
