{#- Loyalty and churn metrics used by more than one model (docs: ../shared/domain.md sections 3-4).
    Thresholds come from config/business.yml through business(); the few scaling anchors of the
    churn early-warning signals that business.yml does not hold yet are named constants in
    churn_signal_scaling() below, defined once. -#}


{#- The end of a business day (business time zone) as a UTC instant: the first instant of the
    next local day. Points, tickets and posts "by the end of day D" are those before it. -#}
{% macro business_day_end(day) -%}
    (({{ day }} + 1)::timestamp at time zone '{{ business("timezone") }}')
{%- endmacro %}


{#- ---------------------------------------------------------------------------------------
    Membership tiers (loyalty.tiers): the highest tier whose min_spend_12m the trailing
    12-month paid spend AND whose min_orders_12m (0 when absent) the count of paid orders in
    those 12 months both reach; tiers are listed from the lowest, which starts at 0 on both.
    --------------------------------------------------------------------------------------- -#}
{% macro loyalty_tier(spend_12m, orders_12m) -%}
    {%- set tiers = business('loyalty.tiers') | sort(attribute='min_spend_12m') -%}
    case
        {%- for t in tiers | reverse %}
        when coalesce({{ spend_12m }}, 0) >= {{ t['min_spend_12m'] }}
            and coalesce({{ orders_12m }}, 0) >= {{ t.get('min_orders_12m', 0) }} then '{{ t["name"] }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- Position of a tier, 1 = the lowest; null for an unknown tier or none. -#}
{% macro loyalty_tier_rank(tier) -%}
    {%- set tiers = business('loyalty.tiers') | sort(attribute='min_spend_12m') -%}
    case {{ tier }}
        {%- for t in tiers %}
        when '{{ t["name"] }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Spend threshold of the tier above `tier` (null at the top). -#}
{% macro loyalty_next_tier_min_spend(tier) -%}
    {%- set tiers = business('loyalty.tiers') | sort(attribute='min_spend_12m') -%}
    case {{ tier }}
        {%- for t in tiers[:-1] %}
        when '{{ t["name"] }}' then {{ tiers[loop.index]['min_spend_12m'] }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Paid-order threshold of the tier above `tier` (null at the top). -#}
{% macro loyalty_next_tier_min_orders(tier) -%}
    {%- set tiers = business('loyalty.tiers') | sort(attribute='min_spend_12m') -%}
    case {{ tier }}
        {%- for t in tiers[:-1] %}
        when '{{ t["name"] }}' then {{ tiers[loop.index].get('min_orders_12m', 0) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Name of the tier above `tier` (null at the top). -#}
{% macro loyalty_next_tier(tier) -%}
    {%- set tiers = business('loyalty.tiers') | sort(attribute='min_spend_12m') -%}
    case {{ tier }}
        {%- for t in tiers[:-1] %}
        when '{{ t["name"] }}' then '{{ tiers[loop.index]["name"] }}'
        {%- endfor %}
    end
{%- endmacro %}


{#- ---------------------------------------------------------------------------------------
    Points liability (loyalty.points_validity_days). Points are consumed first-in first-out,
    so what a customer still holds at an instant T is never more than the points of lots
    still valid at T (earned before T, expiring after T; a lot without expires_at is valid
    points_validity_days after it was earned). The outstanding (unexpired) balance is the
    ledger balance at T capped at those lots, and never below 0: an expiry the CRM has not
    posted yet is not a liability, and a ledger that starts mid-history cannot owe less
    than nothing.
    --------------------------------------------------------------------------------------- -#}
{% macro points_expires_at(created_at, expires_at) -%}
    coalesce({{ expires_at }}, {{ created_at }} + interval '{{ business("loyalty.points_validity_days") }} days')
{%- endmacro %}

{% macro unexpired_points(ledger_balance, valid_lot_points) -%}
    greatest(0, least({{ ledger_balance }}, {{ valid_lot_points }}))
{%- endmacro %}


{#- ---------------------------------------------------------------------------------------
    RFM (customer.*: quintiles 1..5 per dimension, 5 = best; segments from R and FM).
    --------------------------------------------------------------------------------------- -#}

{#- Quintile score 1..5 of a row among all rows of the query, from worst (1) to best (5):
    1 + floor(5 * (rank - 1) / rows), rank ascending by `order_by` (worst first). Ties share
    the lowest rank, so equal values always get the same score (deterministic, and no two
    identical customers land in different quintiles); a large tie can leave a score unused. -#}
{% macro quintile_score(order_by) -%}
    (1 + floor(5.0 * (rank() over (order by {{ order_by }}) - 1) / count(*) over ()))::integer
{%- endmacro %}

{#- FM score: the mean of F and M rounded half up (integers 1..5). -#}
{% macro rfm_fm_score(f_score, m_score) -%}
    (({{ f_score }} + {{ m_score }} + 1) / 2)
{%- endmacro %}

{#- The RFM segment map, defined once: the widely used 10-segment R x F grid (champions ...
    hibernating) read on R and the FM score, with its lowest cells (R 1, FM 1-2) split off
    as "lost". Every one of the 25 (R, FM) cells belongs to exactly one segment. `rank` orders
    the segments from best to worst for reports. -#}
{% macro rfm_segment_map() -%}
    {{ return([
        {'segment': 'champions',          'rank': 1,  'r': [5],    'fm': [4, 5],
         'meaning': 'bought recently, buy often and spend the most'},
        {'segment': 'loyal',              'rank': 2,  'r': [3, 4], 'fm': [4, 5],
         'meaning': 'buy often and spend well, fairly recently'},
        {'segment': 'potential_loyalist', 'rank': 3,  'r': [4, 5], 'fm': [2, 3],
         'meaning': 'recent customers with average frequency and spend'},
        {'segment': 'new',                'rank': 4,  'r': [5],    'fm': [1],
         'meaning': 'bought very recently, not often yet'},
        {'segment': 'promising',          'rank': 5,  'r': [4],    'fm': [1],
         'meaning': 'recent shoppers who have not spent much'},
        {'segment': 'need_attention',     'rank': 6,  'r': [3],    'fm': [3],
         'meaning': 'average recency, frequency and spend'},
        {'segment': 'about_to_sleep',     'rank': 7,  'r': [3],    'fm': [1, 2],
         'meaning': 'below average recency and value; will be lost without reactivation'},
        {'segment': 'cannot_lose',        'rank': 8,  'r': [1, 2], 'fm': [5],
         'meaning': 'used to buy the most and often, but not for a long time'},
        {'segment': 'at_risk',            'rank': 9,  'r': [1, 2], 'fm': [3, 4],
         'meaning': 'spent well and often, long ago'},
        {'segment': 'hibernating',        'rank': 10, 'r': [2],    'fm': [1, 2],
         'meaning': 'last purchase long ago, low spend and few orders'},
        {'segment': 'lost',               'rank': 11, 'r': [1],    'fm': [1, 2],
         'meaning': 'lowest recency and value'},
    ]) }}
{%- endmacro %}

{% macro rfm_segment(r_score, fm_score) -%}
    case
        {%- for s in rfm_segment_map() %}
        when {{ r_score }} in ({{ s.r | join(', ') }}) and {{ fm_score }} in ({{ s.fm | join(', ') }}) then '{{ s.segment }}'
        {%- endfor %}
    end
{%- endmacro %}


{#- ---------------------------------------------------------------------------------------
    Churn early warning (churn_risk.*). Each signal is scaled to 0..1 against the customer's
    own history; the risk score is their weighted sum with churn_risk.weights.
    --------------------------------------------------------------------------------------- -#}

{#- Scaling anchors of the signals (candidates for config/business.yml churn_risk.*):
    - inactivity: 0 while the days since the last order are within the usual gap, rising
      linearly to 1 at `inactivity_full_ratio` times the usual gap; the usual gap is never
      taken below `min_usual_gap_days` (two orders a day apart say little about a rhythm);
      a one-order customer has no gap of their own and is measured against the population's
      (the median usual gap of repeat customers), or customer.at_risk_after_days without one;
    - falling frequency / spend: need `min_history_days` of history before the recent window;
    - counts (SLA breaches, negative posts) saturate at `count_full`. -#}
{% macro churn_signal_scaling() -%}
    {{ return({'inactivity_full_ratio': 3.0, 'min_usual_gap_days': 30,
               'min_history_days': business('churn_risk.recent_days'), 'count_full': 2}) }}
{%- endmacro %}

{#- The signals in the order of churn_risk.weights (which also breaks ties of the top reason). -#}
{% macro churn_signal_names() -%}
    {{ return(business('churn_risk.weights').keys() | list) }}
{%- endmacro %}

{% macro clamp_unit(expression) -%}
    least(1.0, greatest(0.0, {{ expression }}))
{%- endmacro %}

{#- Days since the last order against the usual gap between orders (the customer's own, else
    `fallback_gap_days`, else customer.at_risk_after_days; never below min_usual_gap_days). -#}
{% macro inactivity_ratio(days_since_last_order, usual_gap_days, fallback_gap_days) -%}
    ({{ days_since_last_order }}::numeric / greatest(
        coalesce({{ usual_gap_days }}, {{ fallback_gap_days }}, {{ business('customer.at_risk_after_days') }}),
        {{ churn_signal_scaling()['min_usual_gap_days'] }}))
{%- endmacro %}

{% macro inactivity_signal(days_since_last_order, usual_gap_days, fallback_gap_days) -%}
    {{ clamp_unit('(' ~ inactivity_ratio(days_since_last_order, usual_gap_days, fallback_gap_days) ~ ' - 1) / '
                  ~ (churn_signal_scaling()['inactivity_full_ratio'] - 1)) }}
{%- endmacro %}

{#- Falling activity: 1 - recent / expected, where expected is the earlier history's amount per
    recent window (earlier amount * recent_days / earlier_days); 0 without enough history. -#}
{% macro falling_signal(recent_amount, earlier_amount, earlier_days) -%}
    case
        when {{ earlier_days }} >= {{ churn_signal_scaling()['min_history_days'] }} and {{ earlier_amount }} > 0
            then {{ clamp_unit('1 - ' ~ recent_amount ~ '::numeric / ('
                               ~ earlier_amount ~ '::numeric * ' ~ business('churn_risk.recent_days')
                               ~ ' / ' ~ earlier_days ~ ')') }}
        else 0.0
    end
{%- endmacro %}

{#- A count that is fully alarming at count_full occurrences. -#}
{% macro count_signal(n) -%}
    least(1.0, coalesce({{ n }}, 0)::numeric / {{ churn_signal_scaling()['count_full'] }})
{%- endmacro %}

{#- Complaints: 1 when one is still unresolved, was reopened, or there were two or more in
    the window (repeated); 0.5 for a single complaint resolved for good; else 0. -#}
{% macro complaint_signal(complaints, unresolved_complaints, reopened_complaints) -%}
    case
        when {{ unresolved_complaints }} > 0 or {{ reopened_complaints }} > 0 or {{ complaints }} >= 2 then 1.0
        when {{ complaints }} = 1 then 0.5
        else 0.0
    end
{%- endmacro %}

{#- churn_risk.levels: score >= high -> high; >= medium -> medium; else low. -#}
{% macro churn_risk_level(score) -%}
    {%- set levels = business('churn_risk.levels') -%}
    case
        when {{ score }} >= {{ levels['high'] }} then 'high'
        when {{ score }} >= {{ levels['medium'] }} then 'medium'
        else 'low'
    end
{%- endmacro %}

{#- What to do about a top reason: buying fell away -> a win-back coupon; dissatisfaction
    (detractor, complaints, SLA breaches, negative posts) -> a care call. -#}
{% macro churn_suggested_action(top_reason) -%}
    case
        when {{ top_reason }} in ('inactivity', 'falling_frequency', 'falling_spend') then 'win_back_coupon'
        when {{ top_reason }} in ('recent_detractor', 'complaints', 'sla_breaches', 'negative_social') then 'care_call'
    end
{%- endmacro %}
