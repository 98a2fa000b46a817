-- One row per population and churn signal (churn_risk.weights): how often the signal is the
-- top reason of the population's customers, how many carry it at all, and its average
-- weighted contribution. Populations (from churn_customer_risk): 'churned' (is_churned),
-- 'high_risk' and 'medium_risk' (not churned, by risk_level), 'at_risk_or_churned' (all three).
{%- set weights = business('churn_risk.weights') %}
with

risk as (
    select * from {{ ref('churn_customer_risk') }}
),

populations as (
    select r.*, p.population
    from risk as r
    cross join
        lateral (
            values
            (case when r.is_churned then 'churned' else r.risk_level || '_risk' end),
            ('at_risk_or_churned')
        ) as p (population)
    where r.is_churned or r.risk_level in ('high', 'medium')
),

signal_values as (
    select
        p.population,
        p.customer_id,
        p.top_reason,
        s.reason,
        s.signal_order,
        s.signal_value,
        s.weight
    from populations as p
    cross join lateral (
        values
        {%- for name in churn_signal_names() %}
        ('{{ name }}', {{ loop.index }}, p.{{ name }}_signal, {{ weights[name] }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as s (reason, signal_order, signal_value, weight)
),

counted as (
    select
        population,
        reason,
        min(signal_order) as signal_order,
        min(weight) as weight,
        count(*) as population_customers,
        count(*) filter (where top_reason = reason) as top_reason_customers,
        count(*) filter (where signal_value > 0) as customers_with_signal,
        avg(weight * signal_value) as avg_contribution
    from signal_values
    group by population, reason
),

final as (
    select
        population || ':' || reason as churn_reason_id,
        population,
        reason,
        signal_order::integer as signal_order,
        weight::numeric(6, 4) as weight,
        population_customers::integer as population_customers,
        top_reason_customers::integer as top_reason_customers,
        round(100.0 * top_reason_customers / population_customers, 2)::numeric(7, 2) as top_reason_share_pct,
        customers_with_signal::integer as customers_with_signal,
        round(100.0 * customers_with_signal / population_customers, 2)::numeric(7, 2) as signal_prevalence_pct,
        round(avg_contribution, 4)::numeric(6, 4) as avg_contribution
    from counted
)

select * from final
