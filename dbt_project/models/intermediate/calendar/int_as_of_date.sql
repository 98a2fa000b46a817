-- One row: the business day the marts describe ("today" for recency, tenure, churn).
-- By default the latest day present in the data (orders, responses, mentions), so a rebuild
-- of the same data gives the same marts whenever it runs (never now()); var('as_of_date')
-- pins another day (e.g. `cxw dbt build --vars '{as_of_date: 2026-06-30}'` to rebuild a
-- past period).
with

latest as (
    select max(order_date) as last_day from {{ ref('stg_crm__orders') }}
    union all
    select max(response_date) from {{ ref('stg_survey__responses') }}
    union all
    select max(posted_date) from {{ ref('stg_social__mentions') }}
),

final as (
    select
            {% if var('as_of_date', none) -%}
        '{{ var("as_of_date") }}'::date as as_of_date
        {%- else -%}
        coalesce(max(last_day), current_date) as as_of_date
        {%- endif %}
    from latest
)

select * from final
