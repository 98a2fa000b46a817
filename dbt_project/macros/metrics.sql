{#- Metric definitions used by more than one model (docs: ../shared/domain.md section 3). -#}

{#- NPS category of a 0-10 likelihood-to-recommend score. -#}
{% macro nps_category(score) -%}
    case
        when {{ score }} >= 9 then 'promoter'
        when {{ score }} >= 7 then 'passive'
        when {{ score }} >= 0 then 'detractor'
    end
{%- endmacro %}
