{{ config(materialized='incremental', unique_key='order_line_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per order line, with its order's customer, day and channel (int_order_lines_joined).
-- Incremental: a line is re-read when it or its order was loaded within the look-back window.
with

order_lines as (
    select * from {{ ref('int_order_lines_joined') }}
    where {{ loaded_since_last_run() }}
),

final as (
    select
        order_line_id,
        order_id,
        line_number,
        customer_id,
        order_date,
        channel,
        is_paid,
        product_id,
        product_name,
        category,
        quantity,
        unit_price,
        discount_amount,
        line_amount,
        _loaded_at
    from order_lines
)

select * from final
