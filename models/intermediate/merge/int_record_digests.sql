-- One digest per canonical record of everything its merge and its canonical row
-- read: its pair (int_record_pairs: identities, keys, ETags, presence, quarantine), its mapped
-- values on both sides (int_field_values), its base (p2c_sync.sync_state) and any manual decision
-- (p2c_sync.conflict_decisions). Seeds and models are not in it: a change there is a full refresh
-- (p2c runs `dbt build --full-refresh`). int_changed_records compares it with the digests of the
-- last passed build.
with pairs as (
    select * from {{ ref('int_record_pairs') }}
),

field_values as (
    select
        entity,
        record_key,
        {{ digest_of_rows("side || chr(31) || field || chr(31) || coalesce(value, chr(30))") }} as digest
    from {{ ref('int_field_values') }}
    group by entity, record_key
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
            md5(cast(pairs as varchar))
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
