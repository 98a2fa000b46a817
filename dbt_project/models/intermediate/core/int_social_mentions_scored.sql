-- One row per social post in the listening export (the brand's own replies included, flagged
-- is_brand_post) with its engagement and its sentiment (scored offline by the score_sentiment
-- task into analytics.mention_sentiment; 'unscored' when the scorer has not seen it).
with

mentions as (
    select * from {{ ref('stg_social__mentions') }}
),

sentiment as (
    select * from {{ ref('stg_analytics__mention_sentiments') }}
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
