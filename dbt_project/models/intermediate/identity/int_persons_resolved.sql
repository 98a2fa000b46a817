{{ config(materialized='table') }}
-- One row per node (CRM customer, survey response, social author) with its person: the
-- connected component of the identifier graph. The person key is stable and readable:
-- 'P-<lowest CRM customer id>' when the person is known to the CRM, else 'A-<hash>'
-- (an anonymous respondent or author, kept rather than dropped).
with recursive

nodes as (
    select distinct node_id, node_type, customer_id from {{ ref('int_identifiers_unioned') }}
),

edges as (
    select node_id as from_node, linked_node_id as to_node from {{ ref('int_identity_edges') }}
    union
    select linked_node_id, node_id from {{ ref('int_identity_edges') }}
),

-- every node reached from each node (union, not union all: it stops when nothing is new)
reach (node_id, reached_node_id) as (
    -- the CTE's column list names the two columns
    select node_id, node_id from nodes  -- noqa: AL08
    union
    select r.node_id, e.to_node
    from reach as r
    inner join edges as e on e.from_node = r.reached_node_id
),

components as (
    select node_id, min(reached_node_id) as component_id
    from reach
    group by node_id
),

component_customers as (
    select c.component_id, min(n.customer_id) as first_customer_id, count(n.customer_id) as crm_customer_count
    from components as c
    inner join nodes as n on n.node_id = c.node_id
    group by c.component_id
),

final as (
    select
        n.node_id,
        n.node_type,
        n.customer_id,
        case
            when cc.first_customer_id is not null then 'P-' || cc.first_customer_id
            else 'A-' || left(md5(c.component_id), 16)
        end as person_key,
        cc.first_customer_id is not null as is_known_customer,
        c.component_id
    from nodes as n
    inner join components as c on c.node_id = n.node_id
    inner join component_customers as cc on cc.component_id = c.component_id
)

select * from final
