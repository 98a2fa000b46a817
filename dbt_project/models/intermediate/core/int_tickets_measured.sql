-- One row per support ticket or complaint (latest version) with its service-level measures:
-- time to first response and to resolution on the clock and in business hours, the targets
-- of its severity (config/business.yml service.*) and whether it breached them. A ticket still
-- unanswered (unresolved) breaches once its target has passed by the end of the as-of day.
{%- set tz = business('timezone') %}
with

tickets as (
    select * from {{ ref('stg_crm__tickets') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

targeted as (
    select
        t.*,
        case t.severity
            {%- for severity, hours in business('service.first_response_target_hours').items() %}
            when '{{ severity }}' then {{ hours }}
            {%- endfor %}
        end as first_response_target_hours,
        case t.severity
            {%- for severity, hours in business('service.resolution_target_hours').items() %}
            when '{{ severity }}' then {{ hours }}
            {%- endfor %}
        end as resolution_target_hours,
        -- the end of the as-of business day, as a UTC instant
        (as_of.as_of_date + 1)::timestamp at time zone '{{ tz }}' as as_of_end_at
    from tickets as t
    cross join as_of
),

measured as (
    select
        *,
        {{ hours_between('created_at', 'first_response_at') }} as first_response_hours,
        {{ business_hours_between('created_at', 'first_response_at') }} as first_response_business_hours,
        {{ hours_between('created_at', 'resolved_at') }} as resolution_hours,
        {{ business_hours_between('created_at', 'resolved_at') }} as resolution_business_hours
    from targeted
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
        resolved_at is not null as is_resolved,
        first_response_hours::numeric(14, 4) as first_response_hours,
        first_response_business_hours::numeric(14, 4) as first_response_business_hours,
        resolution_hours::numeric(14, 4) as resolution_hours,
        resolution_business_hours::numeric(14, 4) as resolution_business_hours,
        first_response_target_hours::numeric(14, 4) as first_response_target_hours,
        resolution_target_hours::numeric(14, 4) as resolution_target_hours,
        coalesce(first_response_at, as_of_end_at)
        > created_at + first_response_target_hours * interval '1 hour' as is_first_response_breached,
        coalesce(resolved_at, as_of_end_at)
        > created_at + resolution_target_hours * interval '1 hour' as is_resolution_breached,
        reopen_count,
        reopen_count > 0 as is_reopened,
        csat_after_resolution,
        compensation_amount::numeric(14, 2) as compensation_amount
    from measured
)

select * from final
