{#
    The systems playing the two roles, and the key a record gets in the system where it does not
    exist yet. Each system builds its own keys (systems/<system>/macros/<system>_keys.sql:
    `<system>_create_key`); the role-neutral layer (int_record_pairs) asks for them by the name of
    the system that plays the role (`system_of`): a source system never builds the target's keys.
#}
{#
    The system playing a role: the ERP is p2c's setting p2c.erp, which p2c exports as P2C__ERP (the
    value its registry resolved) before it invokes dbt; a plain `dbt build` reads the same variable.
    dbt_project.yml's var `systems` holds the defaults.
#}
{% macro system_of(role) -%}
    {%- set default = var('systems')[role] -%}
    {{- return((env_var('P2C__ERP', default) if role == 'erp' else default) | trim | lower) -}}
{%- endmacro %}

{% macro system_create_key(role, record) -%}
    {%- set system = system_of(role) -%}
    {%- set build = context.get(system ~ '_create_key') -%}
    {%- if build is none -%}
        {{ exceptions.raise_compiler_error("no macro " ~ system ~ "_create_key for the " ~ role ~ " role (p2c.erp / P2C__ERP, default in var systems: " ~ var('systems') ~ ")") }}
    {%- endif -%}
    {{ build(record) }}
{%- endmacro %}
