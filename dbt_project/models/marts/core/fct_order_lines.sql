{{ config(materialized='incremental', unique_key='order_line_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per order line, with its order's customer, day and channel.
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
    where {{ loaded_since_last_run('l._loaded_at') }} or {{ loaded_since_last_run('o._loaded_at') }}
)

select * from final
