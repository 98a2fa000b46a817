{#- Connected components for identity resolution (int_persons_resolved): union-find (disjoint
    sets) in PL/pgSQL. Set-based SQL crosses a component one join per hop: the recursive closure
    this replaced materialised every (node, reached node) pair, O(sum of component sizes
    squared), and min-label propagation needs a round per hop of the longest path unless it
    adds pointer jumping, which rewrites tables every round (a prototype with hooking and full
    shortcutting needed 7 rounds and about ten times union-find's time at 10^6 nodes).
    Union-find reads each edge once and halves paths as it finds roots: near-linear in nodes
    plus edges, whatever the graph's shape.

    The model's pre-hook creates the function in the model's own schema, inside the model's
    transaction: `create or replace` makes it idempotent, a fresh database gets it on the first
    build, a failed build rolls it back with the table, and it keeps no state between calls (no
    temp tables). It takes nodes numbered 1..node_count and the edges as two parallel arrays
    (up to 2^28 edges, PostgreSQL's 1 GB limit on a value), and returns each node's root: the
    smallest number in its component. -#}

{% macro connected_components_function(schema) -%}
    {{ adapter.quote(schema) }}.identity_connected_components
{%- endmacro %}

{% macro create_connected_components_function(schema) -%}
create or replace function {{ connected_components_function(schema) }}(
    node_count integer,
    source_nodes integer[],
    target_nodes integer[]
)
returns table (node_number integer, root_node_number integer)
language plpgsql
immutable
parallel safe
as $body$
declare
    -- parent[n] <= n throughout: a union hangs the larger root under the smaller one, so a
    -- root is always the smallest number of its set
    parent integer[] := array(select generate_series(1, node_count));
    edge_count integer := coalesce(cardinality(source_nodes), 0);
    a integer;
    b integer;
begin
    if edge_count <> coalesce(cardinality(target_nodes), 0) then
        raise exception 'identity_connected_components: % source nodes but % target nodes',
            edge_count, coalesce(cardinality(target_nodes), 0);
    end if;
    for edge in 1 .. edge_count loop
        a := source_nodes[edge];
        b := target_nodes[edge];
        if (a between 1 and node_count and b between 1 and node_count) is not true then
            raise exception 'identity_connected_components: edge % links % and %, not both among nodes 1 .. %',
                edge, a, b, node_count
                using hint = 'An edge end that is not a node has no number: every edge end must be a node.';
        end if;
        -- find both roots, halving the path on the way (each node visited skips to its
        -- grandparent), which keeps later finds short
        while parent[a] <> a loop
            parent[a] := parent[parent[a]];
            a := parent[a];
        end loop;
        while parent[b] <> b loop
            parent[b] := parent[parent[b]];
            b := parent[b];
        end loop;
        if a < b then
            parent[b] := a;
        elsif b < a then
            parent[a] := b;
        end if;
    end loop;
    -- in increasing order a node's parent (never larger) already points at its root
    for node in 1 .. node_count loop
        parent[node] := parent[parent[node]];
    end loop;
    return query
        select u.node::integer, u.root
        from unnest(parent) with ordinality as u (root, node);
end
$body$
{%- endmacro %}
