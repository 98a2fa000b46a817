-- One row per CRM customer (stg_crm__customers): the attributes the customer marts and BI cut
-- customers by, defined once: name, demographics (age on the as-of day), signup, marketing
-- consent, lifecycle stage and paid-order summary (int_customers_orders_summarised), RFM segment
-- and the loyalty tier the CRM records. Contact data (e-mail, phone, social handle) is left
-- out: customer_360 is the one mart that carries it.
with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders_summary as (
    select * from {{ ref('int_customers_orders_summarised') }}
),

rfm as (
    select * from {{ ref('int_customers_rfm_scored') }}
),

memberships as (
    select * from {{ ref('stg_crm__memberships') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

final as (
    select
        c.customer_id,
        c.first_name,
        c.last_name,
        c.gender,
        case
            when c.birth_date is not null
                then extract(year from age(a.as_of_date, c.birth_date))::integer
        end as age,
        c.city,
        c.region,
        c.signup_date,
        c.signup_channel,
        coalesce(c.is_marketing_opt_in, false) as is_marketing_opt_in,
        o.lifecycle_stage,
        o.first_order_date,
        o.last_order_date,
        o.paid_order_count,
        r.rfm_segment,
        m.member_number,
        m.tier as membership_tier
    from customers as c
    cross join as_of as a
    inner join orders_summary as o on o.customer_id = c.customer_id
    left join rfm as r on r.customer_id = c.customer_id
    left join memberships as m on m.customer_id = c.customer_id
)

select * from final
