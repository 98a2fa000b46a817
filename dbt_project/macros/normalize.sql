{#- Identifier normalisation, defined once: staging applies it, identity resolution joins on it. -#}

{#- E-mail: trimmed and lower-cased; empty becomes null. -#}
{% macro normalize_email(column) -%}
    nullif(lower(btrim({{ column }})), '')
{%- endmacro %}

{#- Phone: digits only, and a mainland China mobile without its country code, so
    +86 190 7154 3100, 0086-19071543100 and 190 7154 3100 all become 19071543100.
    Other numbers keep their digits as written (country code included). -#}
{% macro normalize_phone(column) -%}
    nullif(regexp_replace(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '^(0086|86)(1[0-9]{10})$', '\2'), '')
{%- endmacro %}

{#- Social handle: trimmed, without a leading @, lower-cased (CJK is unchanged). -#}
{% macro normalize_handle(column) -%}
    nullif(lower(ltrim(btrim({{ column }}), '@')), '')
{%- endmacro %}

{#- Plain text identifiers from exports: trimmed, empty becomes null. -#}
{% macro clean_text(column) -%}
    nullif(btrim({{ column }}), '')
{%- endmacro %}

{#- The business calendar day of a timestamp (time zone from config/business.yml). -#}
{% macro business_date(column) -%}
    ({{ column }} at time zone '{{ business("timezone") }}')::date
{%- endmacro %}

{#- True when a normalised handle is one of the brand's own accounts (business.yml social.brand_handles). -#}
{% macro is_brand_handle(column) -%}
    coalesce({{ column }} in (
        {%- for handle in business('social.brand_handles') -%}
        '{{ handle | replace("'", "''") }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    ), false)
{%- endmacro %}
