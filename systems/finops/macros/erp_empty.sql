{#
    F&O has no null: an empty field comes as its type's empty value ('' for text, 0 for numbers,
    the enum's first member, 1 January 1900 for dates — see README "What lands in erp_raw").
    The ERP staging models read '' and any 1900-01-01 date as empty (null). Numbers stay as they
    come: 0 is also a real quantity, amount or limit, and F&O cannot tell the two apart.
#}
{% macro erp_text(column) -%}
    nullif({{ column }}, '')
{%- endmacro %}

{% macro erp_datetime(column) -%}
    case when {{ column }} < cast('1900-01-02 00:00:00+00' as timestamp with time zone) then null else {{ column }} end
{%- endmacro %}
