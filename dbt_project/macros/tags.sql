{#- The customer tag system, defined once (domain.md section 4): each tag is a rule on
    customer_360's columns, thresholds from config/business.yml `customer`. Returns a text[]
    of the tags that apply, in a fixed order. Add a tag here and it appears everywhere. -#}
{% macro customer_tags() -%}
    array_remove(array[
        case when spend_12m_percentile >= 1 - {{ business('customer.high_value_top_share') }}
            and spend_12m > 0 then 'high_value' end,
        case when lifecycle_stage = 'at_risk'
            or (risk_level = 'high' and lifecycle_stage <> 'churned') then 'at_risk' end,
        case when lifecycle_stage = 'churned' then 'churned' end,
        case when latest_nps_category = 'detractor' then 'detractor' end,
        case when latest_nps_category = 'promoter' then 'promoter' end,
        case when complaints_365d >= {{ business('customer.complainer_min_complaints') }}
            or open_complaints > 0 then 'complainer' end,
        case when positive_mentions >= {{ business('customer.social_advocate_min_positive_posts') }}
            and positive_mentions > negative_mentions then 'social_advocate' end,
        case when discount_share > {{ business('customer.price_sensitive_discount_share') }}
            then 'price_sensitive' end
    ]::text[], null)
{%- endmacro %}
