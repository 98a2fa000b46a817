{#- Primary-key test for a compound key: no two rows share the same combination of the columns.
    Nulls count as a value (group by puts them together), so a key part that is null by design
    (e.g. the whole-period row of a per-month analysis) is still a key. Written here because
    only PyPI is reachable from CI (no dbt hub, so no dbt_utils).
    Usage (model level):
      data_tests:
        - unique_combination_of_columns:
            arguments: {combination_of_columns: [platform, post_id]} -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
with

grouped as (
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as duplicate_rows
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
)

select * from grouped
where duplicate_rows > 1
{% endtest %}
