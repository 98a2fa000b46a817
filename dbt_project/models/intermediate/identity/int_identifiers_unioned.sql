-- One row per (node, identifier): every CRM customer, survey response and social author with
-- each normalised identifier it carries. A node is what a source knows as one party.
with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

mentions as (
    select * from {{ ref('stg_social__mentions') }}
),

crm_identifiers as (
    {%- for identifier_type, column in [('crm_id', 'customer_id'), ('email', 'email'),
                                         ('phone', 'phone'), ('handle', 'social_handle')] %}
    select
        'crm:' || customer_id as node_id, 'crm_customer' as node_type, customer_id,
        '{{ identifier_type }}' as identifier_type, {{ column }} as identifier_value
    from customers
    where {{ column }} is not null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

survey_identifiers as (
    -- the response id itself links nothing, but keeps anonymous respondents as nodes
    {%- for identifier_type, column in [('response_id', 'response_id'), ('email', 'respondent_email'),
                                         ('crm_id', 'respondent_customer_id')] %}
    select
        'survey:' || response_id as node_id, 'survey_respondent' as node_type,
        null::text as customer_id, '{{ identifier_type }}' as identifier_type, {{ column }} as identifier_value
    from responses
    where {{ column }} is not null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

social_identifiers as (
    select distinct
        'social:' || author_handle as node_id, 'social_author' as node_type,
        null::text as customer_id, 'handle' as identifier_type, author_handle as identifier_value
    from mentions
    where author_handle is not null and not is_brand_post  -- the brand is no customer
),

final as (
    select * from crm_identifiers
    union all
    select * from survey_identifiers
    union all
    select * from social_identifiers
)

select * from final
