-- Coupled records whose base moves with nothing written (both sides agreed, or a first sync
-- found them equal): the writeback stores them in sync_state/couplings without any HTTP
with pairs as (
    select * from {{ ref('int_record_pairs') }}
    where presence = 'both'
),

merged as (
    select * from {{ ref('int_merge') }}
    where presence = 'both'
),

records as (
    select
        entity,
        record_key,
        max(case when write_crm or write_erp or is_held then 1 else 0 end) as has_pending,
        max(case when not has_base or base_after_value is distinct from base_value then 1 else 0 end) as base_moves
    from merged
    group by entity, record_key
),

bases as (
    select entity, record_key, {{ portable_json_group_object('field', 'base_after_value') }} as base_after
    from merged
    group by entity, record_key
),

final as (
    select
        pairs.entity,
        pairs.record_key,
        pairs.crm_id,
        pairs.erp_key,
        pairs.company,
        cast(bases.base_after as json) as base_after
    from pairs
    inner join records
        on pairs.entity = records.entity and pairs.record_key = records.record_key
    inner join bases
        on pairs.entity = bases.entity and pairs.record_key = bases.record_key
    where records.has_pending = 0 and records.base_moves = 1
)

select * from final
