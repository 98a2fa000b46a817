{#- Incremental facts re-read every row loaded within the look-back window (by load time,
    config/business.yml warehouse.incremental_lookback_days) before the newest row already
    in the fact. Filtering on _loaded_at, not on the event date, means a record that arrives
    late, or a new version of an old record, still reaches the fact and lands in its own
    period; delete+insert on the unique key replaces the old version.
    var('incremental_lookback_days') overrides the rule for one run (tests and benchmarks that
    load twice within minutes use 0, so only the second load counts as new).
    Usage:  where {{ loaded_since_last_run() }}   (true on full refresh) -#}
{% macro loaded_since_last_run(column='_loaded_at', this_column='_loaded_at') -%}
    {%- if is_incremental() -%}
        {{ column }} > (
            select coalesce(max({{ this_column }}), '-infinity'::timestamptz)
                - interval '{{ var("incremental_lookback_days", business("warehouse.incremental_lookback_days")) | int }} days'
            from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
