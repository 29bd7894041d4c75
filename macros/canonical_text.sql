{#
    A value as the canonical text both sides are compared in and sync_state stores:
    numbers without trailing zeros (12.5, not 12.5000), booleans true/false, dates ISO,
    empty strings as null (the CRM's empty and the ERP's '' are the same value).
#}
{% macro canonical_text(expr, type='string') -%}
    {%- if type == 'decimal' -%}
        case when {{ expr }} is null then null
             else rtrim(rtrim(cast(cast({{ expr }} as decimal(18, 4)) as varchar), '0'), '.') end
    {%- elif type == 'bool' -%}
        case when {{ expr }} then 'true' when not {{ expr }} then 'false' end
    {%- elif type in ('int', 'date') -%}
        cast({{ expr }} as varchar)
    {%- else -%}
        nullif(trim(cast({{ expr }} as varchar)), '')
    {%- endif -%}
{%- endmacro %}

{# Back from canonical text to the canonical type (canonical tables). #}
{% macro from_canonical_text(expr, type='string') -%}
    {%- if type == 'decimal' -%} cast({{ expr }} as decimal(18, 4))
    {%- elif type == 'bool' -%} cast({{ expr }} as boolean)
    {%- elif type == 'date' -%} cast({{ expr }} as date)
    {%- elif type == 'int' -%} cast({{ expr }} as bigint)
    {%- else -%} {{ expr }}
    {%- endif -%}
{%- endmacro %}

{# A UTC date from a timestamp with time zone, independent of the session's time zone. #}
{% macro utc_date(expr) -%}
    cast(timezone('UTC', {{ expr }}) as date)
{%- endmacro %}
