{#
    The systems playing the two roles, and the key a record gets in the system where it does not
    exist yet. Each system builds its own keys (systems/<system>/macros/<system>_keys.sql:
    `<system>_create_key`); the role-neutral layer (int_record_pairs) asks for them by the name of
    the system that plays the role, as dbt_project.yml's var `systems` says ({crm: dataverse, erp:
    finops}): a source system never builds the target's keys.
#}
{% macro system_create_key(role, record) -%}
    {%- set system = var('systems')[role] -%}
    {%- set build = context.get(system ~ '_create_key') -%}
    {%- if build is none -%}
        {{ exceptions.raise_compiler_error("no macro " ~ system ~ "_create_key for the " ~ role ~ " role (var systems: " ~ var('systems') ~ ")") }}
    {%- endif -%}
    {{ build(record) }}
{%- endmacro %}
