-- One row per CRM customer the CLV models scored (fit_clv task): P(alive), expected purchases and predicted CLV.
with

source as (
    select * from {{ source('analytics', 'customer_clv') }}
),

final as (
    select
        customer_id,
        p_alive,
        expected_purchases,
        expected_order_value,
        predicted_clv,
        historical_frequency
    from source
)

select * from final
