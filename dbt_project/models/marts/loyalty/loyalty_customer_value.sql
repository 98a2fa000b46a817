-- One row per CRM customer with a paid order up to the as-of day: historical value (paid
-- spend so far) beside the predicted value of the CLV models (source analytics.customer_clv,
-- BG/NBD + Gamma-Gamma over clv.horizon_days, discounted at clv.annual_discount_rate):
-- P(alive), expected purchases, expected order value and predicted CLV. Model columns are
-- null when the model could not score the customer.
with

customers as (
    select * from {{ ref('int_customers_orders_summarised') }}
    where paid_order_count > 0
),

dim as (
    select * from {{ ref('dim_customers') }}
),

clv as (
    select * from {{ ref('stg_analytics__customer_clvs') }}
),

joined as (
    select
        c.customer_id,
        c.first_order_date,
        c.last_order_date,
        c.paid_order_count,
        c.total_spend as historical_value,
        c.spend_12m,
        c.avg_order_value,
        d.lifecycle_stage,
        d.rfm_segment,
        v.p_alive,
        v.expected_purchases,
        v.expected_order_value,
        v.predicted_clv
    from customers as c
    inner join dim as d on d.customer_id = c.customer_id
    left join clv as v on v.customer_id = c.customer_id
),

final as (
    select
        customer_id,
        first_order_date,
        last_order_date,
        paid_order_count,
        historical_value::numeric(14, 2) as historical_value,
        spend_12m::numeric(14, 2) as spend_12m,
        avg_order_value::numeric(14, 2) as avg_order_value,
        lifecycle_stage,
        rfm_segment,
        p_alive::double precision as p_alive,
        expected_purchases::double precision as expected_purchases,
        expected_order_value::numeric(14, 2) as expected_order_value,
        predicted_clv::numeric(14, 2) as predicted_clv,
        (historical_value + predicted_clv)::numeric(14, 2) as lifetime_value,
        case
            when predicted_clv is not null
                then ntile(10) over (partition by predicted_clv is null order by predicted_clv desc, customer_id asc)
        end::integer as predicted_clv_decile
    from joined
)

select * from final
