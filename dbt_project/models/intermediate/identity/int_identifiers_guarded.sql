-- One row per (node, identifier) with the guard's verdict: an identifier links nodes only
-- when it is not a junk value and is shared by at most `max_customers_per_identifier` CRM
-- customers (config/business.yml, identity).
{%- set blocked_values = business('identity.blocked_values') %}
{%- set email_patterns = business('identity.blocked_email_patterns') %}
{%- set cap = business('identity.max_customers_per_identifier') %}
with

identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
),

customers_per_identifier as (
    select
        identifier_type,
        identifier_value,
        count(distinct customer_id) as crm_customer_count,
        count(distinct node_id) as node_count
    from identifiers
    group by 1, 2
),

final as (
    select
        i.*,
        c.crm_customer_count,
        c.node_count,
        case
            when lower(i.identifier_value) in (
                {%- for v in blocked_values %}
                '{{ v | replace("'", "''") }}'{{ "," if not loop.last }}
                {%- endfor %}
            ) then 'blocked value'
            {%- for p in email_patterns %}
            when i.identifier_type = 'email' and i.identifier_value ~ '{{ p | replace("'", "''") }}' then 'blocked e-mail pattern'
            {%- endfor %}
            when c.crm_customer_count > {{ cap }} then 'shared by ' || c.crm_customer_count || ' CRM customers'
        end as refused_reason
    from identifiers as i
    inner join customers_per_identifier as c
        on i.identifier_type = c.identifier_type and i.identifier_value = c.identifier_value
)

select *, refused_reason is null as is_linking from final
