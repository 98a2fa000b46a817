-- One row per population (survey responses, social authors): how many were matched to a
-- CRM customer by identity resolution.
with

resolved as (
    select * from {{ ref('int_persons_resolved') }}
),

responses as (
    select 'survey:' || response_id as node_id from {{ ref('stg_survey__responses') }}
),

survey as (
    select
        'survey_responses' as population,
        count(*) as total_count,
        count(*) filter (where r.is_known_customer) as matched_count
    from responses as s
    left join resolved as r on r.node_id = s.node_id
),

social as (
    select
        'social_authors' as population,
        count(*) as total_count,
        count(*) filter (where is_known_customer) as matched_count
    from resolved
    where node_type = 'social_author'
),

unioned as (
    select * from survey
    union all
    select * from social
),

final as (
    select
        population,
        total_count,
        matched_count,
        round(matched_count::numeric / nullif(total_count, 0), 4) as match_rate
    from unioned
)

select * from final
