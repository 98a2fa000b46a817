{#- Sampling errors and period-over-period significance for the scoreboard (cx_kpis) and the
    satisfaction marts (docs/marts.md, "significant change"). Every standard error is on the
    scale of the metric it belongs to (percentage points for a %, score points for a mean), so
    a change and its noise band can be compared directly. z and the minimum sample come from
    config/business.yml (satisfaction.z_95, satisfaction.min_responses) through business(). -#}

{#- Standard error, in percentage points, of a percentage `pct` (0..100) observed on `n`
    independent trials: 100 * sqrt(p (1 - p) / n) = sqrt(pct (100 - pct) / n). Null when n is 0
    or null. Binomial sampling: CSAT %, churn and retention, repeat purchase, SLA breach and the
    negative-mention share. -#}
{% macro pct_standard_error(pct, n) -%}
    sqrt({{ pct }} * (100 - {{ pct }}) / nullif({{ n }}, 0))
{%- endmacro %}

{#- Standard error of a rate of `events` per `per` units of `exposure` (e.g. complaints per 100
    paid orders), with the events counted as Poisson: per * sqrt(events) / exposure. Unlike a
    share, such a rate may exceed `per` (a customer can complain without ordering). Null when
    the exposure is 0 or null. -#}
{% macro rate_standard_error(events, exposure, per) -%}
    ({{ per }} * sqrt({{ events }}) / nullif({{ exposure }}, 0))
{%- endmacro %}

{#- Standard error of a mean from the aggregates a cell keeps: s / sqrt(n), with s the sample
    standard deviation sqrt((sum of squares - sum^2 / n) / (n - 1)). Null below 2 values (explicitly:
    greatest(), which keeps a zero variance from rounding below 0, would turn a null into 0). -#}
{% macro mean_standard_error(value_sum, value_sum_of_squares, n) -%}
    case when {{ n }} >= 2 then
        sqrt(greatest(({{ value_sum_of_squares }} - power({{ value_sum }}, 2) / {{ n }}) / ({{ n }} - 1), 0) / {{ n }})
    end
{%- endmacro %}

{#- A period-over-period change is real only when it lies outside the 95% noise band of the
    difference of two independent estimates, |value - previous| > z_95 * sqrt(se^2 + se_prev^2),
    and both periods rest on at least satisfaction.min_responses observations (`n`, `previous_n`:
    the sample each estimate is computed over). False, never null, when either value, standard
    error or count is missing (no previous period, a week row of a monthly KPI). The same rule
    as is_nps_change_significant, which takes the NPS's own low-sample flags. -#}
{% macro is_change_significant(value, previous_value, standard_error, previous_standard_error, n, previous_n) -%}
    coalesce(
        abs({{ value }} - {{ previous_value }})
            > {{ business('satisfaction.z_95') }}
            * sqrt(power({{ standard_error }}, 2) + power({{ previous_standard_error }}, 2))
        and not {{ is_low_sample(n) }}
        and not {{ is_low_sample(previous_n) }},
        false
    )
{%- endmacro %}
