-- One row per CRM customer (stg_crm__customers) with their paid-order history up to the
-- as-of day and their lifecycle stage. Only paid orders count (refunded and cancelled ones
-- are not purchases); orders of customer ids the CRM export does not hold are left out.
with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    select * from {{ ref('int_orders_lines_summed') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_joined') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

paid_orders as (
    select
        o.customer_id,
        o.order_id,
        o.ordered_at,
        o.order_date,
        o.channel,
        o.order_amount,
        o.discount_amount,
        o.gross_amount,
        {{ in_trailing_12_months('o.order_date', 'as_of.as_of_date') }} as is_in_last_12_months,
        lag(o.order_date) over (partition by o.customer_id order by o.ordered_at, o.order_id) as previous_order_date,
        row_number() over (partition by o.customer_id order by o.ordered_at, o.order_id) as order_number
    from orders as o
    cross join as_of
    where o.is_paid and o.order_date <= as_of.as_of_date
),

order_totals as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as paid_order_count,
        sum(order_amount) as total_spend,
        sum(discount_amount) as total_discount,
        sum(gross_amount) as total_gross,
        coalesce(sum(order_amount) filter (where is_in_last_12_months), 0) as spend_12m,
        count(*) filter (where is_in_last_12_months) as orders_12m,
        max(order_date - previous_order_date) as longest_gap_days,
        min(channel) filter (where order_number = 1) as first_order_channel
    from paid_orders
    group by customer_id
),

-- mode of the order channel; ties go to the channel used last, then by name
channels_ranked as (
    select
        customer_id,
        channel,
        row_number() over (
            partition by customer_id order by count(*) desc, max(ordered_at) desc, channel
        ) as channel_rank
    from paid_orders
    group by customer_id, channel
),

-- mode of the category over paid order lines; ties go to the higher spend, then by name
categories_ranked as (
    select
        p.customer_id,
        l.category,
        row_number() over (
            partition by p.customer_id order by count(*) desc, sum(l.line_amount) desc, l.category
        ) as category_rank
    from order_lines as l
    inner join paid_orders as p on p.order_id = l.order_id
    where l.category is not null
    group by p.customer_id, l.category
),

joined as (
    select
        c.customer_id,
        c.signup_date,
        c.signup_channel,
        t.first_order_date,
        t.last_order_date,
        t.first_order_channel,
        coalesce(t.paid_order_count, 0) as paid_order_count,
        coalesce(t.total_spend, 0) as total_spend,
        coalesce(t.total_discount, 0) as total_discount,
        coalesce(t.total_gross, 0) as total_gross,
        coalesce(t.spend_12m, 0) as spend_12m,
        coalesce(t.orders_12m, 0) as orders_12m,
        t.longest_gap_days,
        ch.channel as favourite_channel,
        ca.category as favourite_category,
        as_of.as_of_date - t.last_order_date as days_since_last_order,
        as_of.as_of_date - c.signup_date as tenure_days
    from customers as c
    cross join as_of
    left join order_totals as t on t.customer_id = c.customer_id
    left join channels_ranked as ch on ch.customer_id = c.customer_id and ch.channel_rank = 1
    left join categories_ranked as ca on ca.customer_id = c.customer_id and ca.category_rank = 1
),

-- Lifecycle stage, first rule that holds wins (customer.* in config/business.yml):
-- prospect (no paid order) > churned (no paid order for churn_after_days) > at_risk (for
-- at_risk_after_days) > won_back (active, and once came back after a gap of
-- won_back_gap_days or more between two paid orders) > loyal (loyal_min_orders paid orders)
-- > repeat (2 or more) > first_time (1).
staged as (
    select
        *,
        case
            when paid_order_count = 0 then 'prospect'
            when days_since_last_order >= {{ business('customer.churn_after_days') }} then 'churned'
            when days_since_last_order >= {{ business('customer.at_risk_after_days') }} then 'at_risk'
            when longest_gap_days >= {{ business('customer.won_back_gap_days') }} then 'won_back'
            when paid_order_count >= {{ business('customer.loyal_min_orders') }} then 'loyal'
            when paid_order_count >= 2 then 'repeat'
            else 'first_time'
        end as lifecycle_stage
    from joined
),

final as (
    select
        customer_id,
        signup_date,
        signup_channel,
        first_order_date,
        last_order_date,
        first_order_channel,
        paid_order_count::integer as paid_order_count,
        total_spend::numeric(14, 2) as total_spend,
        round(total_spend / nullif(paid_order_count, 0), 2)::numeric(14, 2) as avg_order_value,
        spend_12m::numeric(14, 2) as spend_12m,
        orders_12m::integer as orders_12m,
        total_discount::numeric(14, 2) as total_discount,
        round(total_discount / nullif(total_gross, 0), 4)::numeric(6, 4) as discount_share,
        favourite_channel,
        favourite_category,
        days_since_last_order::integer as days_since_last_order,
        longest_gap_days::integer as longest_gap_days,
        tenure_days::integer as tenure_days,
        lifecycle_stage
    from staged
)

select * from final
