-- One row per month (business calendar) from the first points-ledger month to the as-of month:
-- points earned (by reason: purchase, activity, referral), redeemed and expired, the net
-- movement, and the outstanding liability at the period end (the month's last day, or the
-- as-of day for the current month): the sum over customers of their unexpired balance then
-- (macros/loyalty.sql unexpired_points, loyalty.points_validity_days). Referrals are counted
-- both ways the data holds them: referral points earned by referrers (ledger reason
-- 'referral') and customers who signed up through a referral (stg_crm__customers).
with

ledger as (
    select * from {{ ref('fct_points_ledger') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

entries as (
    select
        l.*,
        date_trunc('month', l.created_date)::date as entry_month,
        {{ points_expires_at('l.created_at', 'l.expires_at') }} as lot_expires_at
    from ledger as l
    cross join as_of
    where l.created_date <= as_of.as_of_date
),

months as (
    select
        m.month_start::date as month_start,
        least({{ month_end_of('m.month_start') }}, as_of.as_of_date) as period_end_date,
        {{ month_end_of('m.month_start') }} <= as_of.as_of_date as is_complete_month
    from as_of
    cross join lateral generate_series(
        (select date_trunc('month', min(created_date)) from entries),
        date_trunc('month', as_of.as_of_date),
        interval '1 month'
    ) as m (month_start)
),

movements as (
    select
        entry_month as month_start,
        sum(points_earned) as points_earned,
        sum(points_earned) filter (where reason = 'purchase') as purchase_points_earned,
        sum(points_earned) filter (where reason = 'activity') as activity_points_earned,
        sum(points_earned) filter (where reason = 'referral') as referral_points_earned,
        sum(points_redeemed) as points_redeemed,
        sum(points_expired) as points_expired,
        sum(points) as net_points,
        count(distinct customer_id) filter (where entry_type = 'earn') as earning_customers,
        count(distinct customer_id) filter (where entry_type = 'redeem') as redeeming_customers,
        count(*) filter (where entry_type = 'earn' and reason = 'referral') as referrals_rewarded,
        count(distinct customer_id) filter (where entry_type = 'earn' and reason = 'referral') as referring_customers
    from entries
    group by entry_month
),

-- each customer's ledger balance and still-valid lots at each period end
customer_period_balances as (
    select
        m.month_start,
        e.customer_id,
        sum(e.points) as ledger_balance,
        coalesce(sum(e.points_earned) filter (where e.lot_expires_at > {{ business_day_end('m.period_end_date') }}), 0)
            as valid_lot_points
    from months as m
    inner join entries as e on e.created_at < {{ business_day_end('m.period_end_date') }}
    group by m.month_start, e.customer_id
),

liability as (
    select
        month_start,
        sum({{ unexpired_points('ledger_balance', 'valid_lot_points') }}) as outstanding_points,
        count(*) filter (where {{ unexpired_points('ledger_balance', 'valid_lot_points') }} > 0) as customers_with_points
    from customer_period_balances
    group by month_start
),

referred_signups as (
    select
        date_trunc('month', signup_date)::date as month_start,
        count(*) as referred_signups
    from customers
    where signup_channel = 'referral'
    group by date_trunc('month', signup_date)
),

final as (
    select
        m.month_start,
        m.period_end_date,
        m.is_complete_month,
        coalesce(v.points_earned, 0)::integer as points_earned,
        coalesce(v.purchase_points_earned, 0)::integer as purchase_points_earned,
        coalesce(v.activity_points_earned, 0)::integer as activity_points_earned,
        coalesce(v.referral_points_earned, 0)::integer as referral_points_earned,
        coalesce(v.points_redeemed, 0)::integer as points_redeemed,
        coalesce(v.points_expired, 0)::integer as points_expired,
        coalesce(v.net_points, 0)::integer as net_points,
        coalesce(l.outstanding_points, 0)::integer as outstanding_points,
        coalesce(l.customers_with_points, 0)::integer as customers_with_points,
        coalesce(v.earning_customers, 0)::integer as earning_customers,
        coalesce(v.redeeming_customers, 0)::integer as redeeming_customers,
        coalesce(v.referrals_rewarded, 0)::integer as referrals_rewarded,
        coalesce(v.referring_customers, 0)::integer as referring_customers,
        coalesce(r.referred_signups, 0)::integer as referred_signups
    from months as m
    left join movements as v on v.month_start = m.month_start
    left join liability as l on l.month_start = m.month_start
    left join referred_signups as r on r.month_start = m.month_start
)

select * from final
