{{ config(materialized='incremental', unique_key='mention_id', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
-- One row per social post in the listening export (the brand's own replies included, flagged
-- is_brand_post: metrics about customers leave them out) with its sentiment
-- (int_social_mentions_scored; scored offline by the score_sentiment task before the marts build).
{#- read only by the incremental branch; set here so dbt records the dependency at parse time #}
{%- set sentiment = ref('stg_analytics__mention_sentiments') %}
with

mentions as (
    select * from {{ ref('int_social_mentions_scored') }}
    where {{ loaded_since_last_run() }}
    {%- if is_incremental() %}
        -- and any mention whose score changed (a new scorer version re-scores old posts)
        or (platform, post_id) in (
            select s.platform, s.post_id
            from {{ sentiment }} as s
            inner join {{ this }} as t on t.platform = s.platform and t.post_id = s.post_id
            where t.sentiment_score is distinct from s.sentiment_score
                or t.sentiment_label is distinct from s.sentiment_label
        )
    {%- endif %}
),

final as (
    select
        mention_id,
        platform,
        post_id,
        author_handle,
        is_brand_post,
        author_followers,
        posted_at,
        posted_date,
        language,
        mention_text,
        like_count,
        share_count,
        reply_count,
        engagement_count,
        reply_to_post_id,
        has_brand_replied,
        sentiment_score,
        sentiment_label,
        _loaded_at
    from mentions
)

select * from final
