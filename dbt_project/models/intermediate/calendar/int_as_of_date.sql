-- One row: the business day the marts describe ("today" for recency, tenure, churn).
-- The DAG passes its data interval's last day as var('as_of_date'); without it the marts
-- describe the latest day present in the data, so a rebuild of the same data gives the
-- same marts whenever it runs (never now()).
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
