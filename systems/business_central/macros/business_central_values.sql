{#
    Business Central has no null: a blank text is '' (the option `blocked` is ' '), an unlinked GUID
    is the empty GUID, a blank date 0001-01-01. BC's staging models read them as empty (null).
    Numbers stay as they come (0 is also a real quantity, amount or limit).
#}
{% macro bc_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{% macro bc_guid(column) -%}
    nullif(nullif({{ column }}, ''), '00000000-0000-0000-0000-000000000000')
{%- endmacro %}

{% macro bc_date(column) -%}
    case when cast({{ column }} as date) < cast('1900-01-02' as date) then null else cast({{ column }} as date) end
{%- endmacro %}
