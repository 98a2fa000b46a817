-- One row per identifier the guards refused to link on, with the reason and how many CRM
-- customers and nodes it would have joined: published so over-merging is visible, not silent.
with

guarded as (
    select * from {{ ref('int_identifiers_guarded') }}
    where not is_linking
),

final as (
    select
        identifier_type,
        identifier_value,
        refused_reason,
        max(crm_customer_count) as crm_customer_count,
        count(distinct node_id) as node_count,
        array_agg(distinct customer_id) filter (where customer_id is not null) as customer_ids
    from guarded
    group by 1, 2, 3
)

select * from final
