{#- Period arithmetic shared by the period marts: the start of the period before. -#}
{% macro previous_period_start(grain_column, start_column) -%}
    case {{ grain_column }}
        when 'day' then {{ start_column }} - 1
        when 'week' then {{ start_column }} - 7
        when 'month' then ({{ start_column }} - interval '1 month')::date
    end
{%- endmacro %}

{#- The first day of the period (week from Monday, month, or the day) a business day falls in. -#}
{% macro period_start_of(grain_column, day_column) -%}
    case {{ grain_column }}
        when 'day' then {{ day_column }}
        when 'week' then date_trunc('week', {{ day_column }})::date
        when 'month' then date_trunc('month', {{ day_column }})::date
    end
{%- endmacro %}

{#- True when a business day is in the trailing 12 months of the as-of day: after the same
    day a year before, up to the as-of day itself. Tiers, 12-month spend and tags share it. -#}
{% macro in_trailing_12_months(day_column, as_of_column) -%}
    ({{ day_column }} > ({{ as_of_column }} - interval '12 months')::date and {{ day_column }} <= {{ as_of_column }})
{%- endmacro %}

{#- The last day of the month that starts on a given day (date or timestamp). -#}
{% macro month_end_of(start_column) -%}
    (({{ start_column }} + interval '1 month')::date - 1)
{%- endmacro %}

{#- The last day of the period (day, week from Monday, month) that starts on a given day. -#}
{% macro period_end_of(grain_column, start_column) -%}
    case {{ grain_column }}
        when 'day' then {{ start_column }}
        when 'week' then {{ start_column }} + 6
        when 'month' then {{ month_end_of(start_column) }}
    end
{%- endmacro %}
