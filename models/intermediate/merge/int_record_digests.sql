-- One digest per canonical record of everything its merge and its canonical row
-- read: its pair (int_record_pairs: identities, keys, ETags, presence, quarantine), its mapped
-- values on both sides (what int_field_values holds of it: its source rows' canonical fields, and the
-- parent key a re-keyed parent gives it), its base (p2c_sync.sync_state) and any manual decision
-- (p2c_sync.conflict_decisions). Seeds and models are not in it: a change there is a full refresh
-- (p2c runs `dbt build --full-refresh`). int_changed_records compares it with the digests of the
-- last passed build. The values are read wide, one text per source row (mapped_values_text), not
-- from int_field_values: that is built for the changed records only.
with pairs as (
    select * from {{ ref('int_record_pairs') }}
),

records as (
    select * from {{ ref('int_records') }}
    where is_primary and reason is null
),

mapped_rows as (
    {{ mapped_values_text() }}
),

field_values as (
    select
        records.entity,
        records.record_key,
        {{ digest_of_rows("records.side || chr(31) || mapped_rows.fields || chr(31) || coalesce(records.parent_key, chr(30)) || chr(31) || coalesce(records.natural_parent_key, chr(30))") }} as digest
    from mapped_rows
    inner join records
        on mapped_rows.entity = records.entity
        and mapped_rows.side = records.side
        and mapped_rows.source_id = records.source_id
    group by records.entity, records.record_key
),

base as (
    select
        entity,
        record_key,
        {{ digest_of_rows("field || chr(31) || coalesce(value, chr(30))") }} as digest
    from {{ source('p2c_sync', 'sync_state') }}
    group by entity, record_key
),

decisions as (
    select
        entity,
        record_key,
        {{ digest_of_rows("field || chr(31) || take || chr(31) || coalesce(value, chr(30))") }} as digest
    from {{ source('p2c_sync', 'conflict_decisions') }}
    group by entity, record_key
),

final as (
    select
        pairs.entity,
        pairs.record_key,
        md5(
            {{ digest_of_row('pairs') }}
            || coalesce(field_values.digest, '-') || coalesce(base.digest, '-') || coalesce(decisions.digest, '-')
        ) as digest
    from pairs
    left join field_values
        on pairs.entity = field_values.entity and pairs.record_key = field_values.record_key
    left join base
        on pairs.entity = base.entity and pairs.record_key = base.record_key
    left join decisions
        on pairs.entity = decisions.entity and pairs.record_key = decisions.record_key
)

select * from final
