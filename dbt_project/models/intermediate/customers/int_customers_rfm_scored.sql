-- One row per CRM customer with a paid order up to the as-of day, with RFM quintile scores
-- and segment. Recency = days since the last paid order, frequency = paid orders, monetary =
-- paid spend, all over the customer's whole history. Each score is a quintile among these
-- customers (5 = best: most recent, most orders, highest spend; ties share a score, see
-- macros/loyalty.sql quintile_score); the segment comes from R and the FM score through the
-- one segment map (rfm_segment_map).
with

customers as (
    select * from {{ ref('int_customers_orders_summarised') }}
    where paid_order_count > 0
),

measured as (
    select
        customer_id,
        days_since_last_order as recency_days,
        paid_order_count as frequency,
        total_spend as monetary
    from customers
),

scored as (
    select
        *,
        {{ quintile_score('recency_days desc') }} as r_score,
        {{ quintile_score('frequency') }} as f_score,
        {{ quintile_score('monetary') }} as m_score
    from measured
),

segmented as (
    select
        *,
        {{ rfm_fm_score('f_score', 'm_score') }} as fm_score
    from scored
),

final as (
    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        fm_score,
        r_score::text || f_score::text || m_score::text as rfm_cell,
        {{ rfm_segment('r_score', 'fm_score') }} as rfm_segment
    from segmented
)

select * from final
