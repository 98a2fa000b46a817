-- One row per order line, with its order's customer, day and channel. _loaded_at is the later
-- of the line's and its order's load time, so fct_order_lines re-reads a line when either changes.
with

order_lines as (
    select * from {{ ref('stg_crm__order_lines') }}
),

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

final as (
    select
        l.order_line_id,
        l.order_id,
        l.line_number,
        o.customer_id,
        o.order_date,
        o.channel,
        o.is_paid,
        l.product_id,
        l.product_name,
        l.category,
        l.quantity,
        l.unit_price,
        l.discount_amount,
        l.line_amount,
        greatest(l._loaded_at, o._loaded_at) as _loaded_at
    from order_lines as l
    inner join orders as o on o.order_id = l.order_id
)

select * from final
