with

source as (
    select * from {{ source('crm', 'crm_tickets') }}
),

final as (
    select
        {{ clean_text('ticket_id') }} as ticket_id,
        {{ clean_text('customer_id') }} as customer_id,
        lower(channel) as channel,
        lower(category) as category,
        lower(severity) as severity,
        coalesce(is_complaint, false) as is_complaint,
        subject,
        description,
        created_at,
        {{ business_date('created_at') }} as created_date,
        first_response_at,
        resolved_at,
        coalesce(reopen_count, 0) as reopen_count,
        csat_after_resolution,
        coalesce(compensation_amount, 0) as compensation_amount,
        updated_at,
        _loaded_at
    from source
)

select * from final
