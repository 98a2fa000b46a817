-- One row per RFM segment of the segment map (macros/loyalty.sql rfm_segment_map), empty
-- segments included: its customers and their share, average recency, frequency and spend,
-- its share of paid revenue, and the average predicted CLV and P(alive) of its customers.
with

rfm as (
    select * from {{ ref('int_customers_rfm_scored') }}
),

clv as (
    select * from {{ ref('stg_analytics__customer_clvs') }}
),

segment_map as (
    {%- for s in rfm_segment_map() %}
    select
        '{{ s.segment }}' as rfm_segment,
        {{ s.rank }} as segment_rank,
        'R {{ s.r | join("/") }}, FM {{ s.fm | join("/") }}' as segment_rule,
        '{{ s.meaning }}' as segment_meaning
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

segment_totals as (
    select
        r.rfm_segment,
        count(*) as customers,
        avg(r.recency_days) as avg_recency_days,
        avg(r.frequency) as avg_frequency,
        avg(r.monetary) as avg_monetary,
        sum(r.monetary) as monetary,
        avg(c.predicted_clv) as avg_predicted_clv,
        avg(c.p_alive) as avg_p_alive
    from rfm as r
    left join clv as c on c.customer_id = r.customer_id
    group by r.rfm_segment
),

final as (
    select
        m.rfm_segment,
        m.segment_rank,
        m.segment_rule,
        m.segment_meaning,
        coalesce(t.customers, 0)::integer as customers,
        coalesce(round(100.0 * t.customers / nullif(sum(t.customers) over (), 0), 2), 0)::numeric(7, 2) as customer_share_pct,
        round(t.avg_recency_days, 1)::numeric(10, 1) as avg_recency_days,
        round(t.avg_frequency, 2)::numeric(10, 2) as avg_frequency,
        round(t.avg_monetary, 2)::numeric(14, 2) as avg_monetary,
        coalesce(t.monetary, 0)::numeric(14, 2) as monetary,
        coalesce(round(100.0 * t.monetary / nullif(sum(t.monetary) over (), 0), 2), 0)::numeric(7, 2) as monetary_share_pct,
        round(t.avg_predicted_clv, 2)::numeric(14, 2) as avg_predicted_clv,
        round(t.avg_p_alive::numeric, 4)::numeric(6, 4) as avg_p_alive
    from segment_map as m
    left join segment_totals as t on t.rfm_segment = m.rfm_segment
)

select * from final
