-- Every mapped field of every usable source row, long: (entity, side, record_key, field, value).
-- The fields are the canonical models' contract columns (macros/canonical_fields.sql). A field that
-- names the record's parent by its natural key (customer_account: the customer's number) follows the
-- parent where it was re-keyed (int_records: a customer the ERP numbers differently, coupled by match):
-- its value is the parent's canonical number, the same on both sides.
-- Built after int_record_pairs, never beside it: the two are the merge's largest tables, and at
-- `large` (1.05 M rows) their hash tables side by side outgrew DuckDB's 1 GB memory limit.
-- depends_on: {{ ref('int_record_pairs') }}
with values_long as (
    {{ mapped_values_long() }}
),

records as (
    select * from {{ ref('int_records') }}
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
