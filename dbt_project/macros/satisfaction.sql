{#- Satisfaction metrics used by the satisfaction marts (docs: ../shared/domain.md section 3).
    Rules (service hours, holidays, time zone, z, minimum sample) come from config/business.yml
    through business(), never from literals here. -#}

{#- Hours of `start_at` .. `end_at` (timestamptz) that fall inside service hours: each business
    calendar day of the interval (time zone business('timezone')) that is a service day
    (service.business_hours.days, 1 = Monday .. 7 = Sunday) and not a holiday (service.holidays)
    contributes the overlap of the interval with its [start, end) window of local time. Null when
    either end is null; 0 when the interval is empty or reversed. Windows are built in local time
    and converted with `at time zone`, so a zone with daylight saving still gets wall-clock hours. -#}
{% macro business_hours_between(start_at, end_at) -%}
    {%- set tz = business('timezone') -%}
    {%- set hours = business('service.business_hours') -%}
    {%- set days = hours['days'] -%}
    {%- set holidays = business('service.holidays') -%}
    case when {{ start_at }} is not null and {{ end_at }} is not null then (
        select coalesce(sum(greatest(extract(epoch from
            least({{ end_at }}, (bd.business_day + time '{{ hours["end"] }}') at time zone '{{ tz }}')
            - greatest({{ start_at }}, (bd.business_day + time '{{ hours["start"] }}') at time zone '{{ tz }}')
        ), 0)), 0) / 3600.0
        from (
            select gs.day_start::date as business_day
            from generate_series(
                ({{ start_at }} at time zone '{{ tz }}')::date::timestamp,
                ({{ end_at }} at time zone '{{ tz }}')::date::timestamp,
                interval '1 day'
            ) as gs (day_start)
        ) as bd
        where
            {% if days | length > 0 -%}
            extract(isodow from bd.business_day) in ({{ days | join(', ') }})
            {%- else -%}
            false
            {%- endif %}
            {%- if holidays | length > 0 %}
            and bd.business_day not in (
                {%- for h in holidays %}'{{ h }}'::date{{ ', ' if not loop.last }}{% endfor -%}
            )
            {%- endif %}
    ) end
{%- endmacro %}

{#- Hours between two timestamps on the clock (null when either is null). -#}
{% macro hours_between(start_at, end_at) -%}
    (extract(epoch from {{ end_at }} - {{ start_at }}) / 3600.0)
{%- endmacro %}

{#- A share as a percentage (0..100); null when the denominator is 0. -#}
{% macro pct(numerator, denominator) -%}
    (100.0 * {{ numerator }} / nullif({{ denominator }}, 0))
{%- endmacro %}

{#- NPS from counts: %promoters - %detractors, -100..100; null without responses. -#}
{% macro nps(promoters, detractors, responses) -%}
    (100.0 * ({{ promoters }} - {{ detractors }}) / nullif({{ responses }}, 0))
{%- endmacro %}

{#- Standard error of an NPS, in NPS points. Each response scores +1 (promoter), 0 (passive) or
    -1 (detractor); NPS/100 is their mean, whose variance is p + d - (p - d)^2 for the promoter
    and detractor shares p and d, so SE = 100 * sqrt(Var / n). -#}
{% macro nps_standard_error(promoters, detractors, responses) -%}
    {%- set p = '(' ~ promoters ~ '::numeric / nullif(' ~ responses ~ ', 0))' -%}
    {%- set d = '(' ~ detractors ~ '::numeric / nullif(' ~ responses ~ ', 0))' -%}
    (100.0 * sqrt(greatest({{ p }} + {{ d }} - power({{ p }} - {{ d }}, 2), 0) / nullif({{ responses }}, 0)))
{%- endmacro %}

{#- Ends of the 95% interval nps +/- z * se (z = satisfaction.z_95), clamped to the NPS scale. -#}
{% macro nps_ci_low(nps, standard_error) -%}
    {#- greatest/least ignore nulls in PostgreSQL: keep a missing NPS missing -#}
    case when {{ nps }} is not null and {{ standard_error }} is not null
        then greatest(-100, {{ nps }} - {{ business('satisfaction.z_95') }} * {{ standard_error }})
    end
{%- endmacro %}

{% macro nps_ci_high(nps, standard_error) -%}
    case when {{ nps }} is not null and {{ standard_error }} is not null
        then least(100, {{ nps }} + {{ business('satisfaction.z_95') }} * {{ standard_error }})
    end
{%- endmacro %}

{#- A cell with fewer responses than satisfaction.min_responses is noise: flag it. -#}
{% macro is_low_sample(responses) -%}
    ({{ responses }} < {{ business('satisfaction.min_responses') }})
{%- endmacro %}

{#- Standard error of the difference of two independent NPS. -#}
{% macro nps_change_standard_error(standard_error, previous_standard_error) -%}
    sqrt(power({{ standard_error }}, 2) + power({{ previous_standard_error }}, 2))
{%- endmacro %}

{#- A period-over-period NPS change is real only outside z * its standard error, and only when
    neither cell is low-sample; false (not null) when there is nothing to compare. -#}
{% macro is_nps_change_significant(change, change_standard_error, is_low_sample, is_previous_low_sample) -%}
    coalesce(
        abs({{ change }}) > {{ business('satisfaction.z_95') }} * {{ change_standard_error }}
        and not {{ is_low_sample }}
        and not {{ is_previous_low_sample }},
        false
    )
{%- endmacro %}
