-- One row per customer with a points-ledger entry up to the as-of day: points earned (all,
-- and from referrals), redeemed and expired, the ledger balance and the outstanding
-- (unexpired) balance at the end of the as-of day (macros/loyalty.sql unexpired_points:
-- the balance capped at the points of lots still valid then, never below 0).
with

ledger as (
    select * from {{ ref('int_points_ledger_entries_classified') }}
),

as_of as (
    select
        as_of_date,
        {{ business_day_end('as_of_date') }} as as_of_end_at
    from {{ ref('int_as_of_date') }}
),

entries as (
    select
        l.*,
        a.as_of_end_at,
        {{ points_expires_at('l.created_at', 'l.expires_at') }} as lot_expires_at
    from ledger as l
    cross join as_of as a
    where l.created_at < a.as_of_end_at
),

totals as (
    select
        customer_id,
        sum(points_earned) as points_earned,
        sum(points_earned) filter (where reason = 'referral') as referral_points_earned,
        count(*) filter (where entry_type = 'earn' and reason = 'referral') as referral_count,
        sum(points_redeemed) as points_redeemed,
        sum(points_expired) as points_expired,
        sum(points) as ledger_balance,
        sum(points_earned) filter (where lot_expires_at > as_of_end_at) as valid_lot_points,
        max(created_at) as last_entry_at
    from entries
    group by customer_id
),

final as (
    select
        customer_id,
        points_earned::integer as points_earned,
        coalesce(referral_points_earned, 0)::integer as referral_points_earned,
        referral_count::integer as referral_count,
        points_redeemed::integer as points_redeemed,
        points_expired::integer as points_expired,
        ledger_balance::integer as ledger_balance,
        {{ unexpired_points('ledger_balance', 'coalesce(valid_lot_points, 0)') }}::integer as unexpired_points,
        last_entry_at
    from totals
)

select * from final
