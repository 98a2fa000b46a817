-- One row per CRM customer with a paid order and calendar month, from the month of their
-- first paid order to the as-of month: the month's paid orders and spend, and the customer's
-- churn status around it (customer.churn_after_days). At the end of a day a customer is
-- active while fewer than churn_after_days have passed since their last paid order (on or
-- before that day); the churn day is the last paid order + churn_after_days. Active at the
-- start of a month = active at the end of the day before it (so one month's active at the
-- end is the next month's active at the start). Churned in the month: the churn day falls in
-- the month, up to the period end (the month's last day, or the as-of day for the current
-- month), with no paid order from the month's first day to the churn day.
with

customers as (
    select * from {{ ref('int_customers_orders_summarised') }}
    where paid_order_count > 0
),

orders as (
    select * from {{ ref('int_orders_lines_summed') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

customer_months as (
    select
        c.customer_id,
        c.signup_date,
        c.first_order_date,
        date_trunc('month', c.first_order_date)::date as cohort_month,
        months.month_start::date as month_start,
        least({{ month_end_of('months.month_start') }}, as_of.as_of_date) as period_end_date,
        {{ month_end_of('months.month_start') }} <= as_of.as_of_date as is_complete_month
    from customers as c
    cross join as_of
    cross join lateral generate_series(
        date_trunc('month', c.first_order_date), date_trunc('month', as_of.as_of_date), interval '1 month'
    ) as months (month_start)
),

monthly_orders as (
    select
        o.customer_id,
        date_trunc('month', o.order_date)::date as month_start,
        count(*) as paid_orders,
        sum(o.order_amount) as spend,
        min(o.order_date) as first_order_date_in_month,
        max(o.order_date) as last_order_date_in_month
    from orders as o
    cross join as_of
    where o.is_paid and o.order_date <= as_of.as_of_date
    group by o.customer_id, date_trunc('month', o.order_date)
),

with_orders as (
    select
        cm.*,
        coalesce(mo.paid_orders, 0) as paid_orders,
        coalesce(mo.spend, 0) as spend,
        mo.first_order_date_in_month,
        max(mo.last_order_date_in_month) over (
            partition by cm.customer_id order by cm.month_start rows between unbounded preceding and current row
        ) as last_order_date_at_end
    from customer_months as cm
    left join monthly_orders as mo on mo.customer_id = cm.customer_id and mo.month_start = cm.month_start
),

with_previous as (
    select
        *,
        lag(last_order_date_at_end) over (partition by customer_id order by month_start) as last_order_date_before_month
    from with_orders
),

final as (
    select
        customer_id || ':' || to_char(month_start, 'YYYY-MM') as customer_month_id,
        customer_id,
        month_start,
        period_end_date,
        is_complete_month,
        cohort_month,
        (
            (extract(year from month_start) - extract(year from cohort_month)) * 12
            + extract(month from month_start) - extract(month from cohort_month)
        )::integer as months_since_first_order,
        paid_orders::integer as paid_orders,
        spend::numeric(14, 2) as spend,
        paid_orders > 0 as has_paid_order,
        month_start = cohort_month as is_first_order_month,
        last_order_date_before_month,
        last_order_date_at_end,
        coalesce(
            last_order_date_before_month + {{ business('customer.churn_after_days') }} >= month_start, false
        ) as is_active_at_start,
        period_end_date - last_order_date_at_end < {{ business('customer.churn_after_days') }} as is_active_at_end,
        coalesce(
            last_order_date_before_month + {{ business('customer.churn_after_days') }} between month_start and period_end_date
            and (
                first_order_date_in_month is null
                or first_order_date_in_month > last_order_date_before_month + {{ business('customer.churn_after_days') }}
            ),
            false
        ) as is_churned_in_month,
        (period_end_date - signup_date)::integer as tenure_days_at_end
    from with_previous
)

select * from final
