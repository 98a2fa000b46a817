-- One row per support ticket or complaint (latest version) with its service-level measures
-- (int_tickets_measured: response and resolution times, severity targets, breaches).
with

tickets as (
    select * from {{ ref('int_tickets_measured') }}
),

final as (
    select
        ticket_id,
        customer_id,
        channel,
        category,
        severity,
        is_complaint,
        created_at,
        created_date,
        first_response_at,
        resolved_at,
        is_resolved,
        first_response_hours,
        first_response_business_hours,
        resolution_hours,
        resolution_business_hours,
        first_response_target_hours,
        resolution_target_hours,
        is_first_response_breached,
        is_resolution_breached,
        reopen_count,
        is_reopened,
        csat_after_resolution,
        compensation_amount
    from tickets
)

select * from final
