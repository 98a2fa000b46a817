-- One row per person (int_persons_resolved) who answered a survey or posted about the
-- brand: their survey scores (latest and mean) and social presence, whichever identifier
-- they used. CRM-side service history (tickets) is per customer and joins in customer_360.
with

persons as (
    select * from {{ ref('int_persons_resolved') }}
),

responses as (
    select * from {{ ref('int_survey_responses_scored') }}
),

mentions as (
    select * from {{ ref('int_social_mentions_scored') }}
),

person_responses as (
    select
        p.person_key,
        r.*,
        row_number() over (
            partition by p.person_key order by r.submitted_at desc, r.response_id desc
        ) as recency_rank
    from responses as r
    inner join persons as p on p.node_id = 'survey:' || r.response_id
),

survey_summary as (
    select
        person_key,
        count(*) as survey_responses,
        max(response_date) as last_response_date,
        max(nps_score) filter (where recency_rank = 1) as latest_nps_score,
        max(nps_category) filter (where recency_rank = 1) as latest_nps_category,
        avg(nps_score) as avg_nps_score,
        max(csat_score) filter (where recency_rank = 1) as latest_csat_score,
        avg(csat_score) as avg_csat_score,
        max(ces_score) filter (where recency_rank = 1) as latest_ces_score,
        avg(ces_score) as avg_ces_score
    from person_responses
    group by person_key
),

social_summary as (
    select
        p.person_key,
        count(*) as social_mentions,
        avg(m.sentiment_score) as avg_sentiment_score,
        count(*) filter (where m.sentiment_label = 'positive') as positive_mentions,
        count(*) filter (where m.sentiment_label = 'negative') as negative_mentions,
        max(m.posted_date) as last_mention_date
    from mentions as m
    inner join persons as p on p.node_id = 'social:' || m.author_handle
    group by p.person_key
),

final as (
    select
        coalesce(s.person_key, m.person_key) as person_key,
        coalesce(s.survey_responses, 0) as survey_responses,
        s.last_response_date,
        s.latest_nps_score,
        s.latest_nps_category,
        s.avg_nps_score,
        s.latest_csat_score,
        s.avg_csat_score,
        s.latest_ces_score,
        s.avg_ces_score,
        coalesce(m.social_mentions, 0) as social_mentions,
        m.avg_sentiment_score,
        coalesce(m.positive_mentions, 0) as positive_mentions,
        coalesce(m.negative_mentions, 0) as negative_mentions,
        m.last_mention_date
    from survey_summary as s
    full outer join social_summary as m on m.person_key = s.person_key
)

select * from final
