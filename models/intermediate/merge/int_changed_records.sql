-- The canonical records an incremental build must look at again: those whose digest
-- (int_record_digests: pair, mapped values, base, decisions) differs from the one the last passed
-- build stored in p2c_sync.record_digests, new records, and records gone since. A child whose
-- parent was re-keyed or quarantined, and every row of a match group a changed row joined or
-- left, changed their own pair or values (int_records follows the parent and the group), so they
-- are here too. Before the first passed build every record is.
with current_digests as (
    select * from {{ ref('int_record_digests') }}
),

built_digests as (
    select * from {{ source('p2c_sync', 'record_digests') }}
),

final as (
    select
        coalesce(current_digests.entity, built_digests.entity) as entity,
        coalesce(current_digests.record_key, built_digests.record_key) as record_key
    from current_digests
    full outer join built_digests
        on current_digests.entity = built_digests.entity
        and current_digests.record_key = built_digests.record_key
    where current_digests.digest is distinct from built_digests.digest
)

select * from final
