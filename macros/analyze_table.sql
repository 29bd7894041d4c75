{#
    Fresh planner statistics for a table a model just built. PostgreSQL plans joins from its
    statistics, and a table dbt has just created has none until autovacuum comes by: the planner
    then guesses a handful of rows and picks nested loops over the long merge tables (the medium
    demo's base_updates ran for over half an hour). DuckDB keeps its statistics as it writes, so
    there the hook renders nothing and dbt skips it. Used as a post-hook on every table model
    (dbt_project.yml).
#}

{% macro analyze_table(relation) -%}
    {{ return(adapter.dispatch('analyze_table', 'p2c')(relation)) }}
{%- endmacro %}

{% macro default__analyze_table(relation) -%}
{%- endmacro %}

{% macro postgres__analyze_table(relation) -%}
    analyze {{ relation }}
{%- endmacro %}
