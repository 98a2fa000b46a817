-- One row per ticket month and every combination of category, severity and channel,
-- including their totals ('all'): ticket and complaint volume, time to first response and to
-- resolution (median and mean, clock and business hours), breach rates, reopen rate, CSAT
-- after resolution and compensation. Totals are computed, not summed, because medians and
-- rates do not add up.
with

tickets as (
    select * from {{ ref('fct_tickets') }}
),

monthly as (
    select
        *,
        date_trunc('month', created_date)::date as created_month
    from tickets
),

aggregated as (
    select
        created_month,
        case when grouping(category) = 1 then 'all' else coalesce(category, 'unknown') end as category,
        case when grouping(severity) = 1 then 'all' else coalesce(severity, 'unknown') end as severity,
        case when grouping(channel) = 1 then 'all' else coalesce(channel, 'unknown') end as channel,
        count(*) as tickets,
        count(*) filter (where is_complaint) as complaints,
        count(first_response_at) as answered_tickets,
        count(*) filter (where is_resolved) as resolved_tickets,
        percentile_cont(0.5) within group (order by first_response_hours) as first_response_hours_median,
        avg(first_response_hours) as first_response_hours_mean,
        percentile_cont(0.5) within group (order by first_response_business_hours)
            as first_response_business_hours_median,
        avg(first_response_business_hours) as first_response_business_hours_mean,
        percentile_cont(0.5) within group (order by resolution_hours) as resolution_hours_median,
        avg(resolution_hours) as resolution_hours_mean,
        percentile_cont(0.5) within group (order by resolution_business_hours) as resolution_business_hours_median,
        avg(resolution_business_hours) as resolution_business_hours_mean,
        count(*) filter (where is_first_response_breached) as first_response_breaches,
        count(*) filter (where is_resolution_breached) as resolution_breaches,
        -- a reopened ticket was resolved once, even when it is open again now
        count(*) filter (where is_resolved or is_reopened) as ever_resolved_tickets,
        count(*) filter (where is_reopened) as reopened_tickets,
        count(csat_after_resolution) as csat_after_resolution_responses,
        avg(csat_after_resolution) as csat_after_resolution_mean,
        sum(compensation_amount) as compensation_total
    from monthly
    group by created_month, cube (category, severity, channel)
),

final as (
    select
        created_month || '|' || category || '|' || severity || '|' || channel as complaint_handling_id,
        created_month,
        category,
        severity,
        channel,
        tickets::integer as tickets,
        complaints::integer as complaints,
        {{ pct('complaints', 'tickets') }}::numeric(14, 4) as complaint_pct,
        answered_tickets::integer as answered_tickets,
        resolved_tickets::integer as resolved_tickets,
        first_response_hours_median::numeric(14, 4) as first_response_hours_median,
        first_response_hours_mean::numeric(14, 4) as first_response_hours_mean,
        first_response_business_hours_median::numeric(14, 4) as first_response_business_hours_median,
        first_response_business_hours_mean::numeric(14, 4) as first_response_business_hours_mean,
        resolution_hours_median::numeric(14, 4) as resolution_hours_median,
        resolution_hours_mean::numeric(14, 4) as resolution_hours_mean,
        resolution_business_hours_median::numeric(14, 4) as resolution_business_hours_median,
        resolution_business_hours_mean::numeric(14, 4) as resolution_business_hours_mean,
        first_response_breaches::integer as first_response_breaches,
        {{ pct('first_response_breaches', 'tickets') }}::numeric(14, 4) as first_response_breach_pct,
        resolution_breaches::integer as resolution_breaches,
        {{ pct('resolution_breaches', 'tickets') }}::numeric(14, 4) as resolution_breach_pct,
        reopened_tickets::integer as reopened_tickets,
        {{ pct('reopened_tickets', 'ever_resolved_tickets') }}::numeric(14, 4) as reopen_pct,
        csat_after_resolution_responses::integer as csat_after_resolution_responses,
        csat_after_resolution_mean::numeric(14, 4) as csat_after_resolution_mean,
        compensation_total::numeric(14, 2) as compensation_total
    from aggregated
)

select * from final
