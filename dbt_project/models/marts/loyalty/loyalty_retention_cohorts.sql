-- One row per cohort (month of the customer's first paid order) and months since that month
-- (0 = the cohort month itself), up to the as-of month: the cohort's size, how many of its
-- customers placed a paid order in that month, and retention = active / cohort size in %
-- (100 in month 0 by construction).
with

customer_months as (
    select * from {{ ref('int_customer_months_summarised') }}
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_size
    from customer_months
    where is_first_order_month
    group by cohort_month
),

activity as (
    select
        cohort_month,
        months_since_first_order,
        min(month_start) as month_start,
        bool_and(is_complete_month) as is_complete_month,
        count(*) filter (where has_paid_order) as active_customers,
        sum(spend) as revenue
    from customer_months
    group by cohort_month, months_since_first_order
),

final as (
    select
        to_char(a.cohort_month, 'YYYY-MM') || ':' || a.months_since_first_order as cohort_period_id,
        a.cohort_month,
        a.months_since_first_order,
        a.month_start,
        a.is_complete_month,
        s.cohort_size::integer as cohort_size,
        a.active_customers::integer as active_customers,
        round(100.0 * a.active_customers / s.cohort_size, 2)::numeric(7, 2) as retention_pct,
        a.revenue::numeric(14, 2) as revenue
    from activity as a
    inner join cohort_sizes as s on s.cohort_month = a.cohort_month
)

select * from final
