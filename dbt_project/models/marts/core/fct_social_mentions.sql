{{ config(materialized='incremental', unique_key='mention_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per social post in the listening export (the brand's own replies included, flagged
-- is_brand_post: metrics about customers leave them out) with its sentiment (scored offline by the score_sentiment
-- task into analytics.mention_sentiment before the marts build).
with

sentiment as (
    select * from {{ source('analytics', 'mention_sentiment') }}
),

mentions as (
    select * from {{ ref('stg_social__mentions') }}
    where {{ loaded_since_last_run() }}
    {%- if is_incremental() %}
        -- and any mention whose score changed (a new scorer version re-scores old posts)
        or (platform, post_id) in (
            select s.platform, s.post_id
            from sentiment as s
            inner join {{ this }} as t on t.platform = s.platform and t.post_id = s.post_id
            where t.sentiment_score is distinct from s.sentiment_score
                or t.sentiment_label is distinct from s.sentiment_label
        )
    {%- endif %}
),

final as (
    select
        m.mention_id,
        m.platform,
        m.post_id,
        m.author_handle,
        m.is_brand_post,
        m.author_followers,
        m.posted_at,
        m.posted_date,
        m.language,
        m.mention_text,
        m.like_count,
        m.share_count,
        m.reply_count,
        m.like_count + m.share_count + m.reply_count as engagement_count,
        m.reply_to_post_id,
        m.has_brand_replied,
        s.sentiment_score,
        coalesce(s.sentiment_label, 'unscored') as sentiment_label,
        m._loaded_at
    from mentions as m
    left join sentiment as s on s.platform = m.platform and s.post_id = m.post_id
)

select * from final
