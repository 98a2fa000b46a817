-- One row per person: everyone the identity graph knows (CRM customers, and survey
-- respondents and social authors who match no CRM customer, kept as anonymous people), with
-- profile, purchases, RFM, membership, feedback, service history, social presence, churn
-- risk, CLV and tags. CRM columns come from the person's key customer (the lowest CRM id in
-- the component, as in the person key); crm_customer_count shows when a person joins more.
with

persons as (
    select * from {{ ref('int_persons_resolved') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

-- contact data is not in dim_customers (BI reads it); customer_360 alone carries it
contacts as (
    select customer_id, email, phone, social_handle from {{ ref('stg_crm__customers') }}
),

orders_summary as (
    select * from {{ ref('int_customers_orders_summarised') }}
),

rfm as (
    select * from {{ ref('int_customers_rfm_scored') }}
),

tiers as (
    select * from {{ ref('loyalty_member_tiers') }}
),

feedback as (
    select * from {{ ref('int_persons_feedback_summarised') }}
),

tickets as (
    select * from {{ ref('fct_tickets') }}
),

risk as (
    select * from {{ ref('churn_customer_risk') }}
),

clv as (
    select * from {{ ref('loyalty_customer_value') }}
),

person_nodes as (
    select
        person_key,
        bool_or(is_known_customer) as is_known_customer,
        min(customer_id) as customer_id,
        count(distinct customer_id)::integer as crm_customer_count,
        count(*) filter (where node_type = 'survey_respondent')::integer as linked_survey_responses,
        count(*) filter (where node_type = 'social_author')::integer as linked_social_handles
    from persons
    group by person_key
),

ticket_summary as (
    select
        t.customer_id,
        count(*)::integer as tickets,
        count(*) filter (where t.is_complaint)::integer as complaints,
        count(*) filter (where t.is_complaint and t.created_date > a.as_of_date - 365)::integer as complaints_365d,
        count(*) filter (where t.is_complaint and not t.is_resolved)::integer as open_complaints,
        count(*) filter (where t.is_first_response_breached or t.is_resolution_breached)::integer as sla_breaches,
        max(t.created_date) as last_ticket_date
    from tickets as t
    cross join as_of as a
    group by t.customer_id
),

joined as (
    select
        n.person_key,
        n.customer_id,
        n.is_known_customer,
        n.crm_customer_count,
        n.linked_survey_responses,
        n.linked_social_handles,
        c.first_name,
        c.last_name,
        ct.email,
        ct.phone,
        c.gender,
        c.age,
        c.city,
        c.region,
        c.signup_date,
        c.signup_channel,
        coalesce(c.is_marketing_opt_in, false) as is_marketing_opt_in,
        ct.social_handle,
        c.lifecycle_stage,
        o.first_order_date,
        o.last_order_date,
        coalesce(o.paid_order_count, 0)::integer as paid_order_count,
        coalesce(o.total_spend, 0)::numeric(14, 2) as total_spend,
        o.avg_order_value::numeric(14, 2) as avg_order_value,
        coalesce(o.spend_12m, 0)::numeric(14, 2) as spend_12m,
        o.discount_share::numeric(6, 4) as discount_share,
        o.favourite_channel,
        o.favourite_category,
        o.days_since_last_order,
        r.r_score,
        r.f_score,
        r.m_score,
        r.rfm_cell,
        c.rfm_segment,
        c.member_number,
        c.membership_tier,
        t.rule_tier as membership_rule_tier,
        t.unexpired_points as points_balance,
        coalesce(f.survey_responses, 0)::integer as survey_responses,
        f.latest_nps_score,
        f.latest_nps_category,
        f.avg_nps_score::numeric(6, 2) as avg_nps_score,
        f.latest_csat_score,
        f.avg_csat_score::numeric(6, 2) as avg_csat_score,
        f.latest_ces_score,
        f.avg_ces_score::numeric(6, 2) as avg_ces_score,
        coalesce(ts.tickets, 0) as tickets,
        coalesce(ts.complaints, 0) as complaints,
        coalesce(ts.complaints_365d, 0) as complaints_365d,
        coalesce(ts.open_complaints, 0) as open_complaints,
        coalesce(ts.sla_breaches, 0) as sla_breaches,
        coalesce(f.social_mentions, 0)::integer as social_mentions,
        f.avg_sentiment_score::numeric(6, 3) as avg_sentiment_score,
        coalesce(f.positive_mentions, 0)::integer as positive_mentions,
        coalesce(f.negative_mentions, 0)::integer as negative_mentions,
        k.is_churned,
        k.risk_score,
        k.risk_level,
        k.top_reason as churn_top_reason,
        k.suggested_action,
        v.p_alive,
        v.expected_purchases,
        v.predicted_clv,
        case
            when o.paid_order_count > 0
                then percent_rank() over (partition by o.paid_order_count > 0 order by o.spend_12m)
        end
            as spend_12m_percentile
    from person_nodes as n
    cross join as_of
    left join customers as c on c.customer_id = n.customer_id
    left join contacts as ct on ct.customer_id = n.customer_id
    left join orders_summary as o on o.customer_id = n.customer_id
    left join rfm as r on r.customer_id = n.customer_id
    left join tiers as t on t.customer_id = n.customer_id
    left join feedback as f on f.person_key = n.person_key
    left join ticket_summary as ts on ts.customer_id = n.customer_id
    left join risk as k on k.customer_id = n.customer_id
    left join clv as v on v.customer_id = n.customer_id
),

tagged as (
    select
        *,
        {{ customer_tags() }} as tags
    from joined
),

final as (
    select
        *,
        -- the same tags as one string, for BI tools that cannot filter arrays
        array_to_string(tags, ',') as tag_list
    from tagged
)

select * from final
