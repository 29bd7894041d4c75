-- Every mapped field of every usable source row, long: (entity, side, record_key, field, value).
-- The fields are the canonical models' contract columns (macros/canonical_fields.sql).
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
        values_long.value
    from values_long
    inner join records
        on values_long.entity = records.entity
        and values_long.side = records.side
        and values_long.source_id = records.source_id
    where records.is_primary and records.reason is null
)

select * from final
