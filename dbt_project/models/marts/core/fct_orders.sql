{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per order with its lines summed. Incremental: orders whose header or any line
-- was loaded within the look-back window are rebuilt (a line that arrives after its
-- header still updates the order).
with

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

order_lines as (
    select * from {{ ref('stg_crm__order_lines') }}
),

changed_orders as (
    select order_id from orders where {{ loaded_since_last_run() }}
    union
    select order_id from order_lines where {{ loaded_since_last_run() }}
),

line_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_quantity,
        sum(line_amount) as lines_amount,
        max(_loaded_at) as lines_loaded_at
    from order_lines
    where order_id in (select order_id from changed_orders)
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
    where o.order_id in (select order_id from changed_orders)
)

select * from final
