{#
    Incremental models keyed on the canonical records a build must look at again
    (int_changed_records: the records whose digest differs from the last passed build's). Each is
    materialized='incremental', incremental_strategy='delete+insert' on the record's key, with
    forget_changed_records() as its pre-hook and changed_records_only() on what it reads, and
    on_schema_change='append_new_columns': p2c never builds one incrementally across a model change
    (that is a full refresh, transform/incremental.py), and 'fail' would stop on PostgreSQL's `text`
    for a contract's varchar in the temporary table.

    digest_of_rows(text)            an aggregate: the count and the sum of the 64-bit hashes of the
                                    rows' `text` (any order; a string aggregate of a record's fields
                                    outgrew DuckDB's memory limit at medium)
    digest_of_row(alias)            the digest of one whole row of `alias` (every column; DuckDB's
                                    64-bit hash of the row, PostgreSQL's md5 of its text: the text of
                                    a wide row cost 5 of int_record_digests' 12 s at large)
    changed_records_only(alias, entity=none)
                                    on an incremental build, a condition keeping the rows of `alias`
                                    whose record changed (the `entity` column of `alias`, or the
                                    model's one `entity`); `true` on a full build
    forget_changed_records(entity=none)
                                    the pre-hook of an incremental model: deletes the changed records'
                                    rows, so a record that now yields no row (gone, no longer present)
                                    loses the row it had; nothing on a full build
#}
{% macro digest_of_rows(text) -%}
    {{ return(adapter.dispatch('digest_of_rows', 'p2c')(text)) }}
{%- endmacro %}
{% macro default__digest_of_rows(text) -%}
    cast(count(*) as varchar) || ':' || cast(sum(hash({{ text }})) as varchar)
{%- endmacro %}
{% macro postgres__digest_of_rows(text) -%}
    cast(count(*) as varchar) || ':' || cast(sum(('x' || substr(md5({{ text }}), 1, 15))::bit(60)::bigint) as varchar)
{%- endmacro %}

{% macro digest_of_row(alias) -%}
    {{ return(adapter.dispatch('digest_of_row', 'p2c')(alias)) }}
{%- endmacro %}
{% macro default__digest_of_row(alias) -%}
    cast(hash({{ alias }}) as varchar)
{%- endmacro %}
{% macro postgres__digest_of_row(alias) -%}
    md5(cast({{ alias }} as text))
{%- endmacro %}

{% macro changed_records_only(alias, entity=none) -%}
    {#- the ref outside the `if`: dbt sees the dependency when it parses (is_incremental() is false then) #}
    {%- set changed_records = ref('int_changed_records') -%}
    {%- if is_incremental() -%}
    {#- an uncorrelated `in`: DuckDB hashes the changed records once (a correlated `exists` it
        decorrelated with a copy of every row read, 2 of base_updates' 2.6 s at large) #}
    {%- if entity %}
    {{ alias }}.record_key in (select changed.record_key from {{ changed_records }} as changed where changed.entity = '{{ entity }}')
    {%- else %}
    ({{ alias }}.entity, {{ alias }}.record_key) in (select changed.entity, changed.record_key from {{ changed_records }} as changed)
    {%- endif %}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{% macro forget_changed_records(entity=none) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as built
    where {{ changed_records_only('built', entity) }}
    {%- endif -%}
{%- endmacro %}
