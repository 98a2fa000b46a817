{#- Post-hook of every model: a table dbt just (re)built has no planner statistics until
    autovacuum gets to it, and the models built right after it join against it. The same
    marts build took 46 s in one run and nearly 10 min in others on the same data (transform
    benchmark, 30,000 customers); with statistics the planner sees real row counts. -#}
{% macro analyze_if_table() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
