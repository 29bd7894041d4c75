{#
    JSON built in SQL, on every engine p2c runs on. DuckDB spells it json_object /
    json_group_object / json_merge_patch / json_array; PostgreSQL json_build_object /
    json_object_agg / jsonb || / json_build_array. Each macro is one call in a model, dispatched on
    the adapter (adapter.dispatch: a new engine adds <adapter>__portable_json_*). The object macros
    take their argument list as SQL text: 'key', value, 'key', value, ...
    Both engines return JSON; its text differs in spacing only (DuckDB writes {"a":1},
    PostgreSQL {"a" : 1}), and p2c compares keys as text only within one warehouse.
#}

{% macro portable_json_object(arguments) -%}
    {{ return(adapter.dispatch('portable_json_object', 'p2c')(arguments)) }}
{%- endmacro %}
{% macro default__portable_json_object(arguments) -%}
    json_object({{ arguments }})
{%- endmacro %}
{% macro postgres__portable_json_object(arguments) -%}
    json_build_object({{ arguments }})
{%- endmacro %}

{% macro portable_json_group_object(key, value) -%}
    {{ return(adapter.dispatch('portable_json_group_object', 'p2c')(key, value)) }}
{%- endmacro %}
{% macro default__portable_json_group_object(key, value) -%}
    json_group_object({{ key }}, {{ value }})
{%- endmacro %}
{% macro postgres__portable_json_group_object(key, value) -%}
    coalesce(json_object_agg({{ key }}, {{ value }}), cast('{}' as json))
{%- endmacro %}

{#- The same object as a window over `partition_by` (every row of a group carries its group's
    object): a window's groups spill to disk where a grouped JSON object (DuckDB's
    json_group_object is a string_agg) must hold every group in memory at once. DuckDB's
    json_group_object spelled out over the window. -#}
{% macro portable_json_group_object_over(key, value, partition_by) -%}
    {{ return(adapter.dispatch('portable_json_group_object_over', 'p2c')(key, value, partition_by)) }}
{%- endmacro %}
{% macro default__portable_json_group_object_over(key, value, partition_by) -%}
    cast('{' || string_agg(to_json(cast({{ key }} as varchar)) || ':' || coalesce(cast(to_json({{ value }}) as varchar), 'null'), ',')
        over (partition by {{ partition_by }}) || '}' as json)
{%- endmacro %}
{% macro postgres__portable_json_group_object_over(key, value, partition_by) -%}
    json_object_agg({{ key }}, {{ value }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro portable_json_merge_patch(target, patch) -%}
    {{ return(adapter.dispatch('portable_json_merge_patch', 'p2c')(target, patch)) }}
{%- endmacro %}
{% macro default__portable_json_merge_patch(target, patch) -%}
    json_merge_patch({{ target }}, {{ patch }})
{%- endmacro %}
{% macro postgres__portable_json_merge_patch(target, patch) -%}
    {#- one level deep, as p2c's defaults are: the patch's keys win -#}
    cast(cast({{ target }} as jsonb) || cast({{ patch }} as jsonb) as json)
{%- endmacro %}

{% macro portable_json_array(arguments='') -%}
    {{ return(adapter.dispatch('portable_json_array', 'p2c')(arguments)) }}
{%- endmacro %}
{% macro default__portable_json_array(arguments) -%}
    json_array({{ arguments }})
{%- endmacro %}
{% macro postgres__portable_json_array(arguments) -%}
    json_build_array({{ arguments }})
{%- endmacro %}
