-- One row per survey response with the person behind it, resolved through identity
-- resolution (node 'survey:<response_id>'), and the dimensions satisfaction is cut by: the
-- CRM region of that person ('unknown' when anonymous) and their customer segment (RFM
-- segment as of the as-of day; 'no_paid_order' for a known customer who never paid,
-- 'anonymous' when the respondent resolves to no customer).
with

responses as (
    select * from {{ ref('int_survey_responses_scored') }}
),

persons as (
    select * from {{ ref('int_persons_resolved') }}
    where node_type = 'survey_respondent'
),

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

rfm as (
    select * from {{ ref('int_customers_rfm_scored') }}
),

resolved as (
    select
        r.*,
        -- a CRM-known person's key is 'P-<their lowest customer id>'
        case when p.is_known_customer then substr(p.person_key, 3) end as customer_id,
        p.person_key
    from responses as r
    left join persons as p on p.node_id = 'survey:' || r.response_id
),

segmented as (
    select
        r.*,
        coalesce(c.region, 'unknown') as region,
        case
            when r.customer_id is null then 'anonymous'
            else coalesce(s.rfm_segment, 'no_paid_order')
        end as customer_segment
    from resolved as r
    left join customers as c on c.customer_id = r.customer_id
    left join rfm as s on s.customer_id = r.customer_id
),

final as (
    select
        response_id,
        submitted_at,
        response_date,
        response_week,
        response_month,
        person_key,
        customer_id,
        channel,
        touchpoint,
        journey_stage,
        region,
        customer_segment,
        nps_score,
        nps_category,
        csat_score,
        is_csat_satisfied,
        ces_score
    from segmented
)

select * from final
