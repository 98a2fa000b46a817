-- One row per month (business calendar) from the first paid order to the as-of month, over
-- CRM customers: buyers (customers with a paid order in the month), new and returning buyers,
-- the repeat-purchase rate (share of the month's buyers who had a paid order before the
-- month), purchase frequency (paid orders per buyer), average order value, paid revenue,
-- active customers at the period end (a paid order within customer.churn_after_days) and the
-- buyers' average tenure since signup.
with

customer_months as (
    select * from {{ ref('int_customer_months_summarised') }}
),

customers as (
    select * from {{ ref('int_customers_orders_summarised') }}
),

monthly as (
    select
        cm.month_start,
        min(cm.period_end_date) as period_end_date,
        bool_and(cm.is_complete_month) as is_complete_month,
        count(*) filter (where cm.has_paid_order) as buyers,
        count(*) filter (where cm.has_paid_order and cm.is_first_order_month) as new_buyers,
        count(*) filter (where cm.has_paid_order and not cm.is_first_order_month) as returning_buyers,
        sum(cm.paid_orders) as paid_orders,
        sum(cm.spend) as revenue,
        count(*) filter (where cm.is_active_at_end) as active_customers,
        avg(cm.tenure_days_at_end) filter (where cm.has_paid_order) as avg_buyer_tenure_days
    from customer_months as cm
    inner join customers as c on c.customer_id = cm.customer_id
    group by cm.month_start
),

final as (
    select
        month_start,
        period_end_date,
        is_complete_month,
        buyers::integer as buyers,
        new_buyers::integer as new_buyers,
        returning_buyers::integer as returning_buyers,
        round(100.0 * returning_buyers / nullif(buyers, 0), 2)::numeric(7, 2) as repeat_purchase_rate_pct,
        paid_orders::integer as paid_orders,
        round(paid_orders::numeric / nullif(buyers, 0), 4)::numeric(10, 4) as purchase_frequency,
        revenue::numeric(14, 2) as revenue,
        round(revenue / nullif(paid_orders, 0), 2)::numeric(14, 2) as avg_order_value,
        active_customers::integer as active_customers,
        round(avg_buyer_tenure_days, 1)::numeric(10, 1) as avg_buyer_tenure_days
    from monthly
)

select * from final
