{{ config(
    materialized='table',
    pre_hook=["{{ create_connected_components_function(this.schema) }}"],
) }}
-- One row per node (CRM customer, survey response, social author) with its person: the
-- connected component of the identifier graph. The person key is stable and readable:
-- 'P-<lowest CRM customer id>' when the person is known to the CRM, else 'A-<hash>'
-- (an anonymous respondent or author, kept rather than dropped).
-- The components come from union-find over the numbered edges (macros/identity.sql): one pass,
-- near-linear in nodes plus edges, where the recursive closure it replaced grew with the
-- square of a component's size. Edges link nodes of int_identifiers_unioned by construction;
-- an edge end that is not a node fails the build (the function refuses an unnumbered end)
-- rather than being dropped. Node ids are matched under collate "C": for equality it is the
-- same answer as the database collation, and much cheaper when the planner sorts millions of
-- ids to join them. component_id, the lowest node id, is ordered by the database collation.
with

nodes as (
    select distinct node_id, node_type, customer_id from {{ ref('int_identifiers_unioned') }}
    where node_id is not null
),

edges as (
    select node_id, linked_node_id from {{ ref('int_identity_edges') }}
),

-- the graph's vertices numbered 1..n, in no particular order
numbered_nodes as (
    select node_id, node_type, customer_id, (row_number() over ())::integer as node_number
    from nodes
),

numbered_edges as (
    select
        array_agg(s.node_number) as source_nodes,
        array_agg(t.node_number) as target_nodes
    from edges as e
    left join numbered_nodes as s on e.node_id collate "C" = s.node_id
    left join numbered_nodes as t on e.linked_node_id collate "C" = t.node_id
),

node_count as (
    select count(*)::integer as node_count from numbered_nodes
),

roots as (
    select r.node_number, r.root_node_number
    from node_count as nc
    cross join numbered_edges as ne
    cross join lateral {{ connected_components_function(this.schema) }}(
        nc.node_count, ne.source_nodes, ne.target_nodes
    ) as r
),

node_roots as (
    select n.node_id, n.node_type, n.customer_id, r.root_node_number
    from numbered_nodes as n
    inner join roots as r on n.node_number = r.node_number
),

components as (
    select
        root_node_number,
        min(node_id) as component_id,
        min(customer_id) as first_customer_id
    from node_roots
    group by root_node_number
),

final as (
    select
        nr.node_id,
        nr.node_type,
        nr.customer_id,
        case
            when c.first_customer_id is not null then 'P-' || c.first_customer_id
            else 'A-' || left(md5(c.component_id), 16)
        end as person_key,
        c.first_customer_id is not null as is_known_customer,
        c.component_id
    from node_roots as nr
    inner join components as c on nr.root_node_number = c.root_node_number
)

select * from final
