-- One row per month (business calendar, up to the as-of month) and breakdown: dimension 'all'
-- (one value, 'all'), 'cohort' (month of the first paid order, 'YYYY-MM'), 'rfm_segment' (the
-- customer's RFM segment on the as-of day) and 'first_order_channel' (channel of the first paid
-- order). Over CRM customers with a paid order (int_customer_months_summarised, which defines
-- the terms): customers_at_start = active at the end of the day before the month (fewer than
-- customer.churn_after_days since their last paid order); churned_customers = of those, the
-- ones whose churn day (last paid order + churn_after_days) fell in the month, up to the
-- period end, without a paid order before it; churn_rate_pct = churned / at start in %;
-- retention_rate_pct = 100 - churn rate (the share of the starting customers who did not
-- churn in the month); both null when nobody was active at the start. customers_at_end =
-- active at the period end (new and returning customers included), the next month's start.
with

customer_months as (
    select * from {{ ref('int_customer_months_summarised') }}
),

customers as (
    select * from {{ ref('int_customers_orders_summarised') }}
),

rfm as (
    select * from {{ ref('int_customers_rfm_scored') }}
),

described as (
    select
        cm.*,
        to_char(cm.cohort_month, 'YYYY-MM') as cohort,
        r.rfm_segment,
        c.first_order_channel
    from customer_months as cm
    inner join customers as c on c.customer_id = cm.customer_id
    inner join rfm as r on r.customer_id = cm.customer_id
),

breakdowns as (
    select d.*, b.dimension, b.dimension_value
    from described as d
    cross join lateral (
        values
        ('all', 'all'),
        ('cohort', d.cohort),
        ('rfm_segment', d.rfm_segment),
        ('first_order_channel', d.first_order_channel)
    ) as b (dimension, dimension_value)
),

counted as (
    select
        month_start,
        dimension,
        dimension_value,
        min(period_end_date) as period_end_date,
        bool_and(is_complete_month) as is_complete_month,
        count(*) filter (where is_active_at_start) as customers_at_start,
        count(*) filter (where is_churned_in_month) as churned_customers,
        count(*) filter (where is_active_at_end) as customers_at_end
    from breakdowns
    group by month_start, dimension, dimension_value
),

final as (
    select
        to_char(month_start, 'YYYY-MM') || ':' || dimension || ':' || dimension_value as churn_rate_id,
        month_start,
        period_end_date,
        is_complete_month,
        dimension,
        dimension_value,
        customers_at_start::integer as customers_at_start,
        churned_customers::integer as churned_customers,
        customers_at_end::integer as customers_at_end,
        round(100.0 * churned_customers / nullif(customers_at_start, 0), 2)::numeric(7, 2) as churn_rate_pct,
        round(100.0 - 100.0 * churned_customers / nullif(customers_at_start, 0), 2)::numeric(7, 2) as retention_rate_pct
    from counted
)

select * from final
