{{ config(tags=["model_input"]) }}
-- One row per CRM customer with a paid order: the recency/frequency/monetary summary that
-- the CLV task (cx_warehouse.analytics.clv, BG/NBD + Gamma-Gamma) fits on. As in the
-- published models, a purchase is a day with a paid order, and the first one is not a
-- repeat: frequency = purchase days - 1, recency = first to last purchase day, tenure =
-- first purchase day to the as-of day, avg_order_value = mean spend of repeat days.
with

orders as (
    select * from {{ ref('stg_crm__orders') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

purchase_days as (
    select
        o.customer_id,
        o.order_date,
        sum(o.order_amount) as day_amount
    from orders as o
    cross join as_of
    where o.is_paid and o.order_date <= as_of.as_of_date
    group by o.customer_id, o.order_date
),

ranked as (
    select
        *,
        min(order_date) over (partition by customer_id) as first_purchase_date
    from purchase_days
),

final as (
    select
        r.customer_id,
        (count(*) - 1)::integer as frequency,
        (max(r.order_date) - min(r.order_date))::integer as recency_days,
        (max(as_of.as_of_date) - min(r.order_date))::integer as tenure_days,
        avg(r.day_amount) filter (where r.order_date > r.first_purchase_date) as avg_order_value
    from ranked as r
    cross join as_of
    group by r.customer_id
)

select * from final
