-- One row per posting day and platform, plus the day's total over platforms ('all'): mention
-- volume, mean sentiment, the share of negative mentions, engagement, and public complaints
-- (negative mentions) with the share the brand answered. Shares and means are over the
-- mentions the sentiment task scored. The brand's own posts (replies, business.yml
-- social.brand_handles) are not mentions and are left out.
with

mentions as (
    select * from {{ ref('fct_social_mentions') }}
    where not is_brand_post
),

aggregated as (
    select
        posted_date,
        case when grouping(platform) = 1 then 'all' else platform end as platform,
        count(*) as mentions,
        count(*) filter (where sentiment_label in ('positive', 'neutral', 'negative')) as scored_mentions,
        avg(sentiment_score) as sentiment_mean,
        count(*) filter (where sentiment_label = 'positive') as positive_mentions,
        count(*) filter (where sentiment_label = 'negative') as negative_mentions,
        count(*) filter (where sentiment_label = 'negative' and has_brand_replied) as negative_mentions_answered,
        sum(engagement_count) as engagement_total
    from mentions
    group by posted_date, rollup (platform)
),

final as (
    select
        posted_date || '|' || platform as social_day_id,
        posted_date,
        platform,
        mentions::integer as mentions,
        scored_mentions::integer as scored_mentions,
        sentiment_mean::numeric(14, 4) as sentiment_mean,
        positive_mentions::integer as positive_mentions,
        negative_mentions::integer as negative_mentions,
        {{ pct('negative_mentions', 'scored_mentions') }}::numeric(14, 4) as negative_mention_pct,
        engagement_total::bigint as engagement_total,
        negative_mentions_answered::integer as negative_mentions_answered,
        {{ pct('negative_mentions_answered', 'negative_mentions') }}::numeric(14, 4) as negative_answered_pct
    from aggregated
)

select * from final
