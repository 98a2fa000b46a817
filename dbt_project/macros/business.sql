{#- Business rules from config/business.yml, which `cxw dbt` (cx_warehouse.transform.dbt) passes as
    the JSON environment variable CX_BUSINESS_CONFIG: one home for every rule.
    Usage: {{ business('service.first_response_target_hours') }} -#}
{% macro business(path) -%}
    {%- set ns = namespace(node=fromjson(env_var('CX_BUSINESS_CONFIG'))) -%}
    {%- for key in path.split('.') -%}
        {%- if ns.node is mapping and key in ns.node -%}
            {%- set ns.node = ns.node[key] -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("config/business.yml has no '" ~ path ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ns.node) }}
{%- endmacro %}
