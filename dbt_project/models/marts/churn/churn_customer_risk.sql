-- One row per CRM customer with a paid order up to the as-of day: churn status
-- (customer.churn_after_days without a paid order), P(alive) of the CLV model beside it, and
-- the early-warning signals of churn_risk.*, each scaled to 0..1 against the customer's own
-- history (macros/loyalty.sql), weighted by churn_risk.weights into a 0..1 risk score, its
-- level (churn_risk.levels), the top reason (the signal contributing most; ties go to the
-- signal listed first in churn_risk.weights; null when the score is 0) and the action it
-- suggests (win_back_coupon when buying fell away, care_call for dissatisfaction; none for
-- low risk).
{%- set weights = business('churn_risk.weights') %}
{%- set signals = churn_signal_names() %}
with

signals_raw as (
    select * from {{ ref('int_customers_churn_signals') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

clv as (
    select * from {{ ref('stg_analytics__customer_clvs') }}
),

scaled as (
    select
        s.*,
        {{ inactivity_ratio('s.days_since_last_order', 's.usual_gap_days', 's.population_gap_days') }} as inactivity_ratio,
        {{ inactivity_signal('s.days_since_last_order', 's.usual_gap_days', 's.population_gap_days') }} as inactivity,
        {{ falling_signal('s.recent_orders', 's.earlier_orders', 's.earlier_days') }} as falling_frequency,
        {{ falling_signal('s.recent_spend', 's.earlier_spend', 's.earlier_days') }} as falling_spend,
        coalesce(s.recent_detractor_responses::numeric / nullif(s.recent_responses, 0), 0.0) as recent_detractor,
        {{ complaint_signal('s.recent_complaints', 's.recent_unresolved_complaints', 's.recent_reopened_complaints') }}
            as complaints,
        {{ count_signal('s.recent_breached_tickets') }} as sla_breaches,
        {{ count_signal('s.recent_negative_posts') }} as negative_social
    from signals_raw as s
),

scored as (
    select
        *,
        {%- for name in signals %}
        {{ weights[name] }} * {{ name }}{{ ' +' if not loop.last }}
        {%- endfor %} as risk_score_raw
    from scaled
),

-- the signal with the largest weighted contribution; a contribution that rounds to zero in
-- the published columns is no reason (else a customer shows a reason beside a risk of 0.0000)
top_reasons as (
    select distinct on (s.customer_id)
        s.customer_id,
        c.signal_name as top_reason,
        c.contribution as top_reason_contribution
    from scored as s
    cross join
        lateral (
            values
            {%- for name in signals %}
            ('{{ name }}', {{ loop.index }}, {{ weights[name] }} * s.{{ name }}){{ ',' if not loop.last }}
            {%- endfor %}
        ) as c (signal_name, signal_order, contribution)
    where round(c.contribution::numeric, 4) > 0
    order by s.customer_id asc, c.contribution desc, c.signal_order asc
),

final as (
    select
        s.customer_id,
        cu.lifecycle_stage,
        s.last_order_date,
        s.days_since_last_order,
        s.days_since_last_order >= {{ business('customer.churn_after_days') }} as is_churned,
        v.p_alive::double precision as p_alive,
        s.usual_gap_days,
        s.population_gap_days,
        round(s.inactivity_ratio, 4)::numeric(12, 4) as inactivity_ratio,
        s.recent_orders,
        s.earlier_orders,
        s.recent_spend,
        s.earlier_spend,
        s.earlier_days,
        s.recent_responses,
        s.recent_detractor_responses,
        s.recent_complaints,
        s.recent_unresolved_complaints,
        s.recent_reopened_complaints,
        s.recent_breached_tickets,
        s.recent_negative_posts,
        {%- for name in signals %}
        round({{ name }}, 4)::numeric(6, 4) as {{ name }}_signal,
        {%- endfor %}
        round(s.risk_score_raw, 4)::numeric(6, 4) as risk_score,
        {{ churn_risk_level('s.risk_score_raw') }} as risk_level,
        t.top_reason,
        round(t.top_reason_contribution, 4)::numeric(6, 4) as top_reason_contribution,
        case
            when {{ churn_risk_level('s.risk_score_raw') }} = 'low' then 'none'
            else {{ churn_suggested_action('t.top_reason') }}
        end as suggested_action
    from scored as s
    inner join customers as cu on cu.customer_id = s.customer_id
    left join top_reasons as t on t.customer_id = s.customer_id
    left join clv as v on v.customer_id = s.customer_id
)

select * from final
