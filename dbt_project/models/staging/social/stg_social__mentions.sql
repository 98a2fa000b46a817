with

source as (
    select * from {{ source('social', 'social_mentions') }}
),

final as (
    select
        lower(platform) || ':' || {{ clean_text('post_id') }} as mention_id,
        lower(platform) as platform,
        {{ clean_text('post_id') }} as post_id,
        {{ normalize_handle('author_handle') }} as author_handle,
        {{ is_brand_handle(normalize_handle('author_handle')) }} as is_brand_post,
        author_followers,
        posted_at,
        {{ business_date('posted_at') }} as posted_date,
        text as mention_text,
        lower(language) as language,
        coalesce(likes, 0) as like_count,
        coalesce(shares, 0) as share_count,
        coalesce(replies, 0) as reply_count,
        {{ clean_text('reply_to_post_id') }} as reply_to_post_id,
        coalesce(brand_replied, false) as has_brand_replied,
        _loaded_at
    from source
)

select * from final
