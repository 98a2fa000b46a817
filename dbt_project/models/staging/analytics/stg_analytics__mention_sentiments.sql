-- One row per social mention (platform, post_id) with the sentiment the score_sentiment task gave it.
with

source as (
    select * from {{ source('analytics', 'mention_sentiment') }}
),

final as (
    select
        platform,
        post_id,
        sentiment_score,
        sentiment_label,
        analyzer,
        scored_text_md5
    from source
)

select * from final
