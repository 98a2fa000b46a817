{#- Layers land in schemas named after them (staging, intermediate, marts, snapshots), not in
    dbt's default "<target schema>_<custom schema>", so BI tools read a stable `marts`. That is
    the prod target (profiles.yml, the default); any other target prefixes its name (dev_marts,
    ci_marts ...), so a dev or CI build never overwrites what BI and the reports read. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name == 'prod' -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.name }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
