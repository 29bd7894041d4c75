{#- How a quarantine reason names a CRM business unit: by the name the company map is keyed by,
    with its GUID to find it in the CRM; a GUID the CRM has no business unit for, or none at all,
    says so. -#}
{% macro business_unit_detail(name_column, id_column) -%}
    'business unit ' || coalesce(
        '''' || {{ name_column }} || ''' (' || {{ id_column }} || ')',
        {{ id_column }} || ' (no such business unit in the CRM)',
        '(none)'
    )
{%- endmacro %}
