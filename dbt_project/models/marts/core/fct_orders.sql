{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per order with its lines summed (int_orders_lines_summed). Incremental: orders
-- whose header or any line was loaded within the look-back window are rebuilt (the order's
-- _loaded_at is the latest of both, so a line that arrives after its header still updates it).
with

orders as (
    select * from {{ ref('int_orders_lines_summed') }}
    where {{ loaded_since_last_run() }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        order_month,
        channel,
        store_id,
        status,
        is_paid,
        currency,
        order_amount,
        discount_amount,
        gross_amount,
        line_count,
        item_quantity,
        _loaded_at
    from orders
)

select * from final
