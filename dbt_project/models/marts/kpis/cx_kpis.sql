-- One row per period (period_grain week or month, business calendar, up to the as-of day):
-- the scoreboard reports and dashboards read. Each KPI comes from the mart that defines it
-- (satisfaction_scores, churn_rates, loyalty_kpis_monthly, fct_tickets, fct_orders,
-- loyalty_customer_value, fct_social_mentions) and sits beside its value in the previous
-- period (previous_<kpi>). Churn, retention and repeat purchase are monthly measures: null
-- on week rows. Every KPI estimated from a sample also carries its standard error
-- (<kpi>_standard_error), the count it rests on, and is_<kpi>_change_significant: the change
-- from the previous period is outside z_95 times its standard error and both periods have at
-- least satisfaction.min_responses observations (macros/significance.sql). The NPS's SE and
-- flag come from satisfaction_scores; avg_predicted_clv is a model output, not a sample, and
-- has neither.
{%- set kpis = ['nps', 'csat_pct', 'ces_mean', 'retention_rate_pct', 'churn_rate_pct',
                'repeat_purchase_rate_pct', 'complaint_rate_pct', 'sla_breach_pct',
                'avg_predicted_clv', 'sentiment_mean', 'negative_mention_pct'] %}
{#- KPI tested for a significant change, and the count of observations it is estimated over -#}
{%- set tested_kpis = [
    ('csat_pct', 'csat_responses'),
    ('ces_mean', 'ces_responses'),
    ('retention_rate_pct', 'customers_at_start'),
    ('churn_rate_pct', 'customers_at_start'),
    ('repeat_purchase_rate_pct', 'buyers'),
    ('complaint_rate_pct', 'paid_orders'),
    ('sla_breach_pct', 'tickets'),
    ('sentiment_mean', 'scored_mentions'),
    ('negative_mention_pct', 'scored_mentions'),
] %}
{%- set churn_pct = pct('c.churned_customers', 'c.customers_at_start') %}
with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

scores as (
    select * from {{ ref('satisfaction_scores') }}
    where dimension = 'overall' and period_grain in ('week', 'month')
),

churn as (
    select * from {{ ref('churn_rates') }}
    where dimension = 'all'
),

loyalty as (
    select * from {{ ref('loyalty_kpis_monthly') }}
),

tickets as (
    select * from {{ ref('fct_tickets') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

customer_value as (
    select * from {{ ref('loyalty_customer_value') }}
),

mentions as (
    select * from {{ ref('fct_social_mentions') }}
    where not is_brand_post
),

grains as (
    select 'week' as period_grain
    union all
    select 'month'
),

order_periods as (
    select
        g.period_grain,
        {{ period_start_of('g.period_grain', 'o.order_date') }} as period_start,
        count(*) filter (where o.is_paid) as paid_orders,
        avg(v.predicted_clv) filter (where o.is_paid) as avg_predicted_clv
    from orders as o
    cross join grains as g
    cross join as_of as a
    left join customer_value as v on v.customer_id = o.customer_id
    where o.order_date <= a.as_of_date
    group by 1, 2
),

ticket_periods as (
    select
        g.period_grain,
        {{ period_start_of('g.period_grain', 't.created_date') }} as period_start,
        count(*) as tickets,
        count(*) filter (where t.is_complaint) as complaints,
        count(*) filter (where t.is_first_response_breached) as first_response_breaches
    from tickets as t
    cross join grains as g
    cross join as_of as a
    where t.created_date <= a.as_of_date
    group by 1, 2
),

mention_periods as (
    select
        g.period_grain,
        {{ period_start_of('g.period_grain', 'm.posted_date') }} as period_start,
        count(*) as mentions,
        avg(m.sentiment_score) as sentiment_mean,
        {{ mean_standard_error('sum(m.sentiment_score)', 'sum(power(m.sentiment_score, 2))', 'count(m.sentiment_score)') }}
            as sentiment_mean_standard_error,
        count(*) filter (where m.sentiment_label in ('positive', 'neutral', 'negative')) as scored_mentions,
        count(*) filter (where m.sentiment_label = 'negative') as negative_mentions
    from mentions as m
    cross join grains as g
    cross join as_of as a
    where m.posted_date <= a.as_of_date
    group by 1, 2
),

periods as (
    select period_grain, period_start from order_periods
    union
    select period_grain, period_start from ticket_periods
    union
    select period_grain, period_start from mention_periods
    union
    select period_grain, period_start from scores
),

current_values as (
    select
        p.period_grain,
        p.period_start,
        {{ period_end_of('p.period_grain', 'p.period_start') }} as period_end_date,
        s.nps_responses,
        s.nps,
        s.nps_standard_error,
        s.nps_ci_low,
        s.nps_ci_high,
        coalesce(s.is_low_sample, true) as is_nps_low_sample,
        s.is_nps_change_significant,
        s.csat_pct,
        s.ces_mean,
        c.retention_rate_pct,
        c.churn_rate_pct,
        l.repeat_purchase_rate_pct,
        coalesce(o.paid_orders, 0) as paid_orders,
        coalesce(t.tickets, 0) as tickets,
        coalesce(t.complaints, 0) as complaints,
        (100.0 * t.complaints / nullif(o.paid_orders, 0))::numeric(8, 2) as complaint_rate_pct,
        (100.0 * t.first_response_breaches / nullif(t.tickets, 0))::numeric(6, 2) as sla_breach_pct,
        o.avg_predicted_clv::numeric(14, 2) as avg_predicted_clv,
        coalesce(m.mentions, 0) as mentions,
        m.sentiment_mean::numeric(6, 4) as sentiment_mean,
        (100.0 * m.negative_mentions / nullif(m.scored_mentions, 0))::numeric(6, 2) as negative_mention_pct,
        -- the samples behind the KPIs, and each KPI's standard error (kept unrounded here)
        s.csat_responses,
        s.ces_responses,
        c.customers_at_start,
        l.buyers,
        coalesce(m.scored_mentions, 0) as scored_mentions,
        {{ pct_standard_error('s.csat_pct', 's.csat_responses') }} as csat_pct_standard_error,
        s.ces_mean_standard_error,
        {{ pct_standard_error('(100 - ' ~ churn_pct ~ ')', 'c.customers_at_start') }} as retention_rate_pct_standard_error,
        {{ pct_standard_error(churn_pct, 'c.customers_at_start') }} as churn_rate_pct_standard_error,
        {{ pct_standard_error(pct('l.returning_buyers', 'l.buyers'), 'l.buyers') }}
            as repeat_purchase_rate_pct_standard_error,
        {{ rate_standard_error('t.complaints', 'o.paid_orders', 100) }} as complaint_rate_pct_standard_error,
        {{ pct_standard_error(pct('t.first_response_breaches', 't.tickets'), 't.tickets') }}
            as sla_breach_pct_standard_error,
        m.sentiment_mean_standard_error,
        {{ pct_standard_error(pct('m.negative_mentions', 'm.scored_mentions'), 'm.scored_mentions') }}
            as negative_mention_pct_standard_error
    from periods as p
    left join scores as s on s.period_grain = p.period_grain and s.period_start = p.period_start
    left join churn as c on p.period_grain = 'month' and c.month_start = p.period_start
    left join loyalty as l on p.period_grain = 'month' and l.month_start = p.period_start
    left join order_periods as o on o.period_grain = p.period_grain and o.period_start = p.period_start
    left join ticket_periods as t on t.period_grain = p.period_grain and t.period_start = p.period_start
    left join mention_periods as m on m.period_grain = p.period_grain and m.period_start = p.period_start
),

final as (
    select
        cur.period_grain || ':' || cur.period_start as kpi_period_id,
        cur.period_grain,
        cur.period_start,
        cur.period_end_date,
        cur.period_end_date <= a.as_of_date as is_complete_period,
        cur.nps_responses,
        cur.nps_standard_error,
        cur.nps_ci_low,
        cur.nps_ci_high,
        cur.is_nps_low_sample,
        cur.is_nps_change_significant,
        cur.paid_orders,
        cur.tickets,
        cur.complaints,
        cur.mentions,
        {%- for kpi in kpis %}
        cur.{{ kpi }},
        prev.{{ kpi }} as previous_{{ kpi }},
        {%- endfor %}
        cur.csat_responses,
        cur.ces_responses,
        cur.customers_at_start,
        cur.buyers,
        cur.scored_mentions,
    {%- for kpi, n in tested_kpis %}
    cur.{{ kpi }}_standard_error::numeric(14, 4) as {{ kpi }}_standard_error,
        {{ is_change_significant(
            'cur.' ~ kpi, 'prev.' ~ kpi,
            'cur.' ~ kpi ~ '_standard_error', 'prev.' ~ kpi ~ '_standard_error',
            'cur.' ~ n, 'prev.' ~ n) }} as is_{{ kpi }}_change_significant{{ ',' if not loop.last }}
    {%- endfor %}
    from current_values as cur
    cross join as_of as a
    left join current_values as prev
        on
            prev.period_grain = cur.period_grain
            and prev.period_start = {{ previous_period_start('cur.period_grain', 'cur.period_start') }}
)

select * from final
