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
