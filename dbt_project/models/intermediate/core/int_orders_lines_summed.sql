-- One row per order with its lines summed. _loaded_at is the latest load time of the header
-- and its lines, so fct_orders rebuilds an order when its header or any of its lines changes
-- (a line that arrives after its header still updates the order).
with

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

order_lines as (
    select * from {{ ref('stg_crm__order_lines') }}
),

line_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_quantity,
        sum(line_amount) as lines_amount,
        max(_loaded_at) as lines_loaded_at
    from order_lines
    group by order_id
),

final as (
    select
        o.order_id,
        o.customer_id,
        o.ordered_at,
        o.order_date,
        date_trunc('month', o.order_date)::date as order_month,
        o.channel,
        o.store_id,
        o.status,
        o.is_paid,
        o.currency,
        o.order_amount,
        o.discount_amount,
        o.order_amount + o.discount_amount as gross_amount,
        coalesce(l.line_count, 0) as line_count,
        coalesce(l.item_quantity, 0) as item_quantity,
        greatest(o._loaded_at, l.lines_loaded_at) as _loaded_at
    from orders as o
    left join line_totals as l on l.order_id = o.order_id
)

select * from final
