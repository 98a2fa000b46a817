-- One row per CRM customer with a paid order up to the as-of day: the raw inputs of the churn
-- early-warning signals, each against the customer's own history. The recent window is the
-- churn_risk.recent_days days ending on the as-of day; "earlier" is the customer's observable
-- history before it: from the later of their signup and the first day of the order history the
-- warehouse holds (never after their first paid order) to the day before the window. Counting
-- from the first order instead would inflate the earlier rate (that order is certain to be
-- in it). Survey answers and social posts
-- are the person's (int_persons_resolved: any response or handle resolved to the same person
-- as the CRM customer), not only those carrying the customer id.
{%- set recent_days = business('churn_risk.recent_days') %}
with

customers as (
    select * from {{ ref('int_customers_orders_summarised') }}
    where paid_order_count > 0
),

orders as (
    select * from {{ ref('int_orders_lines_summed') }}
),

tickets as (
    select * from {{ ref('int_tickets_measured') }}
),

responses as (
    select * from {{ ref('int_survey_responses_scored') }}
),

mentions as (
    select * from {{ ref('int_social_mentions_scored') }}
),

persons as (
    select * from {{ ref('int_persons_resolved') }}
),

as_of as (
    select
        as_of_date,
        as_of_date - {{ recent_days }} + 1 as window_start_date
    from {{ ref('int_as_of_date') }}
),

order_history as (
    select min(o.order_date) as order_history_start_date
    from orders as o
    where o.is_paid
),

paid_orders as (
    select
        o.customer_id,
        o.order_date,
        o.order_amount,
        o.order_date >= as_of.window_start_date as is_recent
    from orders as o
    cross join as_of
    where o.is_paid and o.order_date <= as_of.as_of_date
),

customer_orders as (
    select
        customer_id,
        count(distinct order_date) as order_days,
        count(*) filter (where is_recent) as recent_orders,
        count(*) filter (where not is_recent) as earlier_orders,
        coalesce(sum(order_amount) filter (where is_recent), 0) as recent_spend,
        coalesce(sum(order_amount) filter (where not is_recent), 0) as earlier_spend
    from paid_orders
    group by customer_id
),

customer_persons as (
    select customer_id, person_key
    from persons
    where node_type = 'crm_customer'
),

recent_responses as (
    select
        cp.customer_id,
        count(*) as recent_responses,
        count(*) filter (where r.nps_category = 'detractor') as recent_detractor_responses
    from responses as r
    cross join as_of
    inner join persons as p on p.node_id = 'survey:' || r.response_id
    inner join customer_persons as cp on cp.person_key = p.person_key
    where
        r.nps_score is not null
        and r.response_date between as_of.window_start_date and as_of.as_of_date
    group by cp.customer_id
),

recent_tickets as (
    select
        t.customer_id,
        count(*) as recent_tickets,
        count(*) filter (where t.is_complaint) as recent_complaints,
        count(*) filter (where t.is_complaint and not t.is_resolved) as recent_unresolved_complaints,
        count(*) filter (where t.is_complaint and t.reopen_count > 0) as recent_reopened_complaints,
        count(*) filter (where t.is_first_response_breached or t.is_resolution_breached) as recent_breached_tickets
    from tickets as t
    cross join as_of
    where t.created_date between as_of.window_start_date and as_of.as_of_date
    group by t.customer_id
),

recent_posts as (
    select
        cp.customer_id,
        count(distinct m.mention_id) filter (where m.sentiment_label = 'negative') as recent_negative_posts
    from mentions as m
    cross join as_of
    inner join persons as p on p.node_id = 'social:' || m.author_handle
    inner join customer_persons as cp on cp.person_key = p.person_key
    where m.posted_date between as_of.window_start_date and as_of.as_of_date
    group by cp.customer_id
),

usual_gaps as (
    select
        c.customer_id,
        case
            when h.order_days > 1
                then round((c.last_order_date - c.first_order_date)::numeric / (h.order_days - 1), 2)
        end as usual_gap_days
    from customers as c
    inner join customer_orders as h on h.customer_id = c.customer_id
),

-- what a one-order customer is measured against: the median usual gap of the customers who
-- did come back (the lower middle value, so it is one of theirs)
population_gap as (
    select percentile_disc(0.5) within group (order by usual_gap_days) as population_gap_days
    from usual_gaps
    where usual_gap_days is not null
),

final as (
    select
        c.customer_id,
        as_of.window_start_date,
        c.first_order_date,
        c.last_order_date,
        c.days_since_last_order,
        g.usual_gap_days::numeric(10, 2) as usual_gap_days,
        pg.population_gap_days::numeric(10, 2) as population_gap_days,
        h.recent_orders::integer as recent_orders,
        h.earlier_orders::integer as earlier_orders,
        h.recent_spend::numeric(14, 2) as recent_spend,
        h.earlier_spend::numeric(14, 2) as earlier_spend,
        least(c.first_order_date, greatest(c.signup_date, oh.order_history_start_date)) as history_start_date,
        greatest(
            as_of.window_start_date - least(c.first_order_date, greatest(c.signup_date, oh.order_history_start_date)), 0
        )::integer as earlier_days,
        coalesce(r.recent_responses, 0)::integer as recent_responses,
        coalesce(r.recent_detractor_responses, 0)::integer as recent_detractor_responses,
        coalesce(t.recent_tickets, 0)::integer as recent_tickets,
        coalesce(t.recent_complaints, 0)::integer as recent_complaints,
        coalesce(t.recent_unresolved_complaints, 0)::integer as recent_unresolved_complaints,
        coalesce(t.recent_reopened_complaints, 0)::integer as recent_reopened_complaints,
        coalesce(t.recent_breached_tickets, 0)::integer as recent_breached_tickets,
        coalesce(s.recent_negative_posts, 0)::integer as recent_negative_posts
    from customers as c
    cross join as_of
    cross join order_history as oh
    cross join population_gap as pg
    inner join customer_orders as h on h.customer_id = c.customer_id
    inner join usual_gaps as g on g.customer_id = c.customer_id
    left join recent_responses as r on r.customer_id = c.customer_id
    left join recent_tickets as t on t.customer_id = c.customer_id
    left join recent_posts as s on s.customer_id = c.customer_id
)

select * from final
