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
    select 'crm:' || customer_id as node_id, 'crm_customer' as node_type, customer_id,
           'crm_id' as identifier_type, customer_id as identifier_value
    from customers
    union all
    select 'crm:' || customer_id, 'crm_customer', customer_id, 'email', email
    from customers where email is not null
    union all
    select 'crm:' || customer_id, 'crm_customer', customer_id, 'phone', phone
    from customers where phone is not null
    union all
    select 'crm:' || customer_id, 'crm_customer', customer_id, 'handle', social_handle
    from customers where social_handle is not null
),

survey_identifiers as (
    -- the response id itself links nothing, but keeps anonymous respondents as nodes
    select 'survey:' || response_id as node_id, 'survey_respondent' as node_type,
           null::text as customer_id, 'response_id' as identifier_type, response_id as identifier_value
    from responses
    union all
    select 'survey:' || response_id, 'survey_respondent', null, 'email', respondent_email
    from responses where respondent_email is not null
    union all
    select 'survey:' || response_id, 'survey_respondent', null, 'crm_id', respondent_customer_id
    from responses where respondent_customer_id is not null
),

social_identifiers as (
    select distinct 'social:' || author_handle as node_id, 'social_author' as node_type,
           null::text as customer_id, 'handle' as identifier_type, author_handle as identifier_value
    from mentions where author_handle is not null
),

final as (
    select * from crm_identifiers
    union all
    select * from survey_identifiers
    union all
    select * from social_identifiers
)

select * from final
