-- One row per win-back campaign type (win_back_coupon, care_call) and month of contact
-- (business calendar, up to the as-of day): did contacted customers come back, and more than
-- comparable customers who were not contacted?
-- * Contacted: customers contacted with that campaign type in the month (their first such
--   contact of the month is the reference instant). Returned: a paid order within
--   churn_risk.win_back_return_days after the reference instant.
-- * Matched: contacted customers with an earlier paid order, in a recency band (days since
--   their last paid order at the contact, 30-day bands, 360+ pooled) that has comparison
--   customers. Customers whose earlier orders predate the data are contacted but not matched.
-- * Comparison: in the same month, every customer with an earlier paid order who got no
--   win-back coupon or care call within win_back_return_days either side of the month's first
--   day (the reference instant), banded the same way at that instant. Its return rate is
--   standardised to the matched customers' band mix (sum over bands of matched customers x
--   the band's comparison return rate / matched customers), and uplift = matched return rate
--   - comparison return rate, in percentage points.
-- Months whose return window has not closed by the as-of day are flagged (is_window_complete).
{%- set return_days = business('churn_risk.win_back_return_days') %}
with

contacts as (
    select * from {{ ref('stg_crm__campaign_contacts') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    select
        as_of_date,
        {{ business_day_end('as_of_date') }} as as_of_end_at
    from {{ ref('int_as_of_date') }}
),

paid_orders as (
    select o.customer_id, o.ordered_at, o.order_date
    from orders as o
    cross join as_of
    where o.is_paid and o.ordered_at < as_of.as_of_end_at
),

win_back_contacts as (
    select
        c.customer_id,
        c.campaign_type,
        c.contacted_at,
        date_trunc('month', {{ business_date('c.contacted_at') }})::date as contact_month
    from contacts as c
    cross join as_of
    where
        c.campaign_type in ('win_back_coupon', 'care_call')
        and c.contacted_at < as_of.as_of_end_at
),

-- each customer's first contact of a type in a month is the reference instant
contacted as (
    select
        campaign_type,
        contact_month,
        customer_id,
        min(contacted_at) as reference_at
    from win_back_contacts
    group by campaign_type, contact_month, customer_id
),

months as (
    select distinct
        contact_month as month_start,
        (contact_month::timestamp at time zone '{{ business("timezone") }}') as reference_at
    from contacted
),

customer_first_orders as (
    select customer_id, min(ordered_at) as first_ordered_at
    from paid_orders
    group by customer_id
),

-- uncontacted customers with an earlier paid order, at the start of each month
comparison as (
    select
        m.month_start,
        f.customer_id,
        m.reference_at
    from months as m
    inner join customer_first_orders as f on f.first_ordered_at < m.reference_at
    left join win_back_contacts as w
        on
            w.customer_id = f.customer_id
            and w.contacted_at > m.reference_at - interval '{{ return_days }} days'
            and w.contacted_at <= m.reference_at + interval '{{ return_days }} days'
    where w.customer_id is null
),

outcomes as (
    select
        'contacted' as cohort,
        c.campaign_type,
        c.contact_month as month_start,
        c.customer_id,
        c.reference_at
    from contacted as c
    union all
    select
        -- the union's first branch names the columns
        'comparison',  -- noqa: AL03
        null,  -- noqa: AL03
        month_start,
        customer_id,
        reference_at
    from comparison
),

-- the last paid order before the reference instant, and any paid order in the return window
assessed as (
    select
        o.cohort,
        o.campaign_type,
        o.month_start,
        o.customer_id,
        o.reference_at,
        least(
            floor(
                ({{ business_date('o.reference_at') }} - max(p.order_date) filter (where p.ordered_at < o.reference_at)) / 30.0
            ),
            12
        )::integer as recency_band,
        coalesce(bool_or(
            p.ordered_at > o.reference_at and p.ordered_at <= o.reference_at + interval '{{ return_days }} days'
        ), false) as has_returned
    from outcomes as o
    left join paid_orders as p on p.customer_id = o.customer_id
    group by o.cohort, o.campaign_type, o.month_start, o.customer_id, o.reference_at
),

comparison_bands as (
    select
        month_start,
        recency_band,
        count(*) as comparison_customers,
        avg(has_returned::integer) as comparison_return_rate
    from assessed
    where cohort = 'comparison'
    group by month_start, recency_band
),

contacted_assessed as (
    select
        a.*,
        b.comparison_customers,
        b.comparison_return_rate
    from assessed as a
    left join comparison_bands as b on b.month_start = a.month_start and b.recency_band = a.recency_band
    where a.cohort = 'contacted'
),

-- comparison customers of the bands the matched customers are in, counted once per band
matched_band_pools as (
    select distinct campaign_type, month_start, recency_band, comparison_customers
    from contacted_assessed
    where comparison_customers is not null
),

summarised as (
    select
        c.campaign_type,
        c.month_start as contact_month,
        count(*) as contacted_customers,
        count(*) filter (where c.has_returned) as returned_customers,
        count(*) filter (where c.comparison_customers is not null) as matched_customers,
        count(*) filter (where c.comparison_customers is not null and c.has_returned) as matched_returned_customers,
        avg(c.comparison_return_rate) filter (where c.comparison_customers is not null) as comparison_return_rate,
        (
            select sum(p.comparison_customers)
            from matched_band_pools as p
            where p.campaign_type = c.campaign_type and p.month_start = c.month_start
        ) as comparison_customers
    from contacted_assessed as c
    group by c.campaign_type, c.month_start
),

final as (
    select
        s.campaign_type || ':' || to_char(s.contact_month, 'YYYY-MM') as win_back_id,
        s.campaign_type,
        s.contact_month,
        {{ month_end_of('s.contact_month') }} + {{ return_days }} <= as_of.as_of_date as is_window_complete,
        s.contacted_customers::integer as contacted_customers,
        s.returned_customers::integer as returned_customers,
        round(100.0 * s.returned_customers / s.contacted_customers, 2)::numeric(7, 2) as return_rate_pct,
        s.matched_customers::integer as matched_customers,
        s.matched_returned_customers::integer as matched_returned_customers,
        round(100.0 * s.matched_returned_customers / nullif(s.matched_customers, 0), 2)::numeric(7, 2)
            as matched_return_rate_pct,
        coalesce(s.comparison_customers, 0)::integer as comparison_customers,
        round(100.0 * s.comparison_return_rate, 2)::numeric(7, 2) as comparison_return_rate_pct,
        round(
            100.0 * s.matched_returned_customers / nullif(s.matched_customers, 0) - 100.0 * s.comparison_return_rate, 2
        )::numeric(7, 2) as uplift_pct_points
    from summarised as s
    cross join as_of
)

select * from final
