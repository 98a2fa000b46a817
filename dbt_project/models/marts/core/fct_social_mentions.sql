{{ config(materialized='incremental', unique_key='mention_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per social mention with its sentiment (scored offline by the score_sentiment
-- task into analytics.mention_sentiment before the marts build).
with

mentions as (
    select * from {{ ref('stg_social__mentions') }}
    where {{ loaded_since_last_run() }}
),

sentiment as (
    select * from {{ source('analytics', 'mention_sentiment') }}
),

final as (
    select
        m.mention_id,
        m.platform,
        m.post_id,
        m.author_handle,
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
