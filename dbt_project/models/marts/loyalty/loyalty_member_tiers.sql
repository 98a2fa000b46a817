-- One row per loyalty member (stg_crm__memberships): the tier the rules give them (loyalty.tiers:
-- the highest tier whose min_spend_12m their paid spend of the trailing 12 months and whose
-- min_orders_12m their paid orders of those 12 months both reach) beside the tier the CRM
-- records, whether they agree, how far the member is from the next tier on each threshold,
-- and their points balance.
with

memberships as (
    select * from {{ ref('stg_crm__memberships') }}
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

points as (
    select * from {{ ref('int_customers_points') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

spend_12m as (
    select
        o.customer_id,
        sum(o.order_amount) as spend_12m,
        count(*) as orders_12m
    from orders as o
    cross join as_of
    where o.is_paid and {{ in_trailing_12_months('o.order_date', 'as_of.as_of_date') }}
    group by o.customer_id
),

tiered as (
    select
        m.customer_id,
        m.member_number,
        m.joined_at,
        m.tier as recorded_tier,
        m.tier_since,
        c.customer_id is not null as has_customer_profile,
        coalesce(s.spend_12m, 0) as spend_12m,
        coalesce(s.orders_12m, 0) as orders_12m,
        {{ loyalty_tier('s.spend_12m', 's.orders_12m') }} as rule_tier
    from memberships as m
    left join customers as c on c.customer_id = m.customer_id
    left join spend_12m as s on s.customer_id = m.customer_id
),

compared as (
    select
        *,
        {{ loyalty_tier_rank('rule_tier') }} as rule_tier_rank,
        {{ loyalty_tier_rank('recorded_tier') }} as recorded_tier_rank,
        {{ loyalty_next_tier_min_spend('rule_tier') }} as next_tier_min_spend,
        {{ loyalty_next_tier_min_orders('rule_tier') }} as next_tier_min_orders
    from tiered
),

final as (
    select
        c.customer_id,
        c.member_number,
        c.has_customer_profile,
        c.joined_at,
        c.recorded_tier,
        c.tier_since,
        c.spend_12m::numeric(14, 2) as spend_12m,
        c.orders_12m::integer as orders_12m,
        c.rule_tier,
        c.rule_tier_rank,
        c.recorded_tier_rank,
        (c.rule_tier_rank - c.recorded_tier_rank)::integer as tier_rank_gap,
        coalesce(c.rule_tier = c.recorded_tier, false) as is_tier_agreed,
        case
            when c.recorded_tier_rank is null then 'unknown_recorded_tier'
            when c.rule_tier_rank > c.recorded_tier_rank then 'due_upgrade'
            when c.rule_tier_rank < c.recorded_tier_rank then 'due_downgrade'
            else 'agreed'
        end as tier_status,
        {{ loyalty_next_tier('c.rule_tier') }} as next_tier,
        -- what is still missing on each threshold; 0 on one that is already reached (the other
        -- holds the member back), null at the top (greatest() alone would turn null into 0)
        case
            when c.next_tier_min_spend is not null
                then greatest(0, c.next_tier_min_spend - c.spend_12m)
        end::numeric(14, 2
        ) as spend_to_next_tier,
        case
            when c.next_tier_min_orders is not null
                then greatest(0, c.next_tier_min_orders - c.orders_12m)
        end::integer as orders_to_next_tier,
        coalesce(p.points_earned, 0) as points_earned,
        coalesce(p.points_redeemed, 0) as points_redeemed,
        coalesce(p.points_expired, 0) as points_expired,
        coalesce(p.ledger_balance, 0) as ledger_balance,
        coalesce(p.unexpired_points, 0) as unexpired_points,
        coalesce(p.referral_count, 0) as referral_count
    from compared as c
    left join points as p on p.customer_id = c.customer_id
)

select * from final
