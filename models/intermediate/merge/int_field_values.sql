-- Every mapped field of every usable source row, long: (entity, side, record_key, field, value).
-- The fields are the canonical models' contract columns (macros/canonical_fields.sql). A field that
-- names the record's parent by its natural key (customer_account: the customer's number) follows the
-- parent where it was re-keyed (int_records: a customer the ERP numbers differently, coupled by match):
-- its value is the parent's canonical number, the same on both sides.
-- Incremental, as int_merge_input: a build unpivots again only the records int_changed_records lists
-- (their digest in int_record_digests covers what this model reads of them); a full refresh every
-- record. Built after int_record_pairs (through the digests), never beside it: the two are the
-- merge's largest tables, and at `large` (1.05 M rows) their hash tables side by side outgrew
-- DuckDB's 1 GB memory limit.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key=['entity', 'record_key'],
    pre_hook="{{ forget_changed_records() }}",
) }}

with values_long as (
    {{ mapped_values_long() }}
),

records as (
    select * from {{ ref('int_records') }} as record_rows
    where {{ changed_records_only('record_rows') }}
),

final as (
    select
        values_long.entity,
        values_long.side,
        records.record_key,
        values_long.field,
        case
            when values_long.field = 'customer_account' and records.parent_key <> records.natural_parent_key
                then {{ key_number('records.parent_key') }}
            else values_long.value
        end as value
    from values_long
    inner join records
        on values_long.entity = records.entity
        and values_long.side = records.side
        and values_long.source_id = records.source_id
    where records.is_primary and records.reason is null
)

select * from final
