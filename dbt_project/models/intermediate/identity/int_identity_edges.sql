-- One row per link between two nodes through an allowed identifier, as a star: every node
-- carrying an identifier links to that identifier's first node, which keeps the edge count
-- linear in the number of nodes (a prolific respondent's e-mail does not make n^2 edges).
with

guarded as (
    select * from {{ ref('int_identifiers_guarded') }}
    where is_linking
),

hubs as (
    select identifier_type, identifier_value, min(node_id) as hub_node_id
    from guarded
    group by 1, 2
),

final as (
    select distinct
        g.node_id,
        h.hub_node_id as linked_node_id,
        g.identifier_type
    from guarded as g
    inner join hubs as h
        on g.identifier_type = h.identifier_type and g.identifier_value = h.identifier_value
    where g.node_id <> h.hub_node_id
)

select * from final
