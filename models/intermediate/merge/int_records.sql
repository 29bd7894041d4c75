-- Every source row of every entity, both systems, with its canonical key: the record key
-- p2c_sync.couplings recorded for its source id, else its natural key (int_records_by_key), else
-- the key match-based coupling found (int_record_matches): a matched pair takes the key of the
-- entity's master system. A row whose match is ambiguous goes to quarantine (ambiguous_match), and
-- so do its children and grandchildren (parent_quarantined: a quote of that account, its lines).
-- A child's parent_key follows its parent: where the parent's row was re-keyed (a recorded coupling,
-- a match), the child points at the parent's canonical key (natural_parent_key keeps the one its own
-- system gave): an ERP contact of a customer the ERP numbers differently is the CRM account's contact.
with keyed as (
    select * from {{ ref('int_records_by_key') }}
),

matches as (
    select * from {{ ref('int_record_matches') }}
),

entities as (
    select entity, master, parent_entity from {{ ref('entities') }}
),

coupled as (
    select
        keyed.entity,
        keyed.side,
        keyed.entity_set,
        keyed.source_id,
        keyed.natural_record_key,
        keyed.natural_key,
        keyed.header_number,
        keyed.line_number,
        keyed.company,
        keyed.parent_key,
        keyed.target_key,
        keyed.etag,
        keyed.modified_at,
        keyed.is_deleted,
        keyed.is_active,
        keyed.is_primary,
        coalesce(keyed.reason, case when matches.outcome = 'ambiguous' then 'ambiguous_match' end) as reason,
        coalesce(keyed.reason_detail, case when matches.outcome = 'ambiguous' then matches.reason_detail end) as reason_detail,
        case
            when matches.outcome = 'matched' and keyed.side <> entities.master then matches.matched_record_key
            else keyed.record_key
        end as record_key,
        keyed.is_recorded_coupling,
        -- how this run coupled the row when no recorded coupling or key did: 'match:<fields>'
        case when matches.outcome = 'matched' then 'match:' || matches.fields end as matched_by
    from keyed
    left join matches
        on keyed.entity = matches.entity
        and keyed.side = matches.side
        and keyed.source_id = matches.source_id
    left join entities
        on keyed.entity = entities.entity
),

ambiguous as (
    select distinct record_key, reason_detail from coupled where reason = 'ambiguous_match'
),

children as (
    -- a row whose parent's match is ambiguous
    select coupled.source_id, coupled.side, coupled.entity, coupled.record_key
    from coupled
    inner join ambiguous on coupled.parent_key = ambiguous.record_key
    where coupled.reason is null
),

cascaded as (
    select coupled.entity, coupled.side, coupled.source_id,
           'parent_quarantined' as reason, entities.parent_entity || ' ' || coupled.parent_key || ' (ambiguous_match)' as reason_detail
    from coupled
    inner join children
        on coupled.entity = children.entity and coupled.side = children.side and coupled.source_id = children.source_id
    inner join entities on coupled.entity = entities.entity
    union all
    select grandchildren.entity, grandchildren.side, grandchildren.source_id,
           'parent_quarantined', entities.parent_entity || ' ' || grandchildren.parent_key || ' (parent_quarantined)'
    from coupled as grandchildren
    inner join entities on grandchildren.entity = entities.entity
    inner join (select distinct side, record_key from children) as parents
        on grandchildren.parent_key = parents.record_key and grandchildren.side = parents.side
    where grandchildren.reason is null
),

rekeyed as (
    -- rows whose canonical key is not the one their own system gives them, where that key is unique
    select entity, side, natural_record_key, min(record_key) as record_key
    from coupled
    where record_key <> natural_record_key and reason is null
    group by entity, side, natural_record_key
    having count(distinct record_key) = 1
),

final as (
    select
        coupled.entity, coupled.side, coupled.entity_set, coupled.source_id, coupled.natural_record_key,
        coupled.natural_key, coupled.header_number, coupled.line_number, coupled.company,
        coalesce(rekeyed.record_key, coupled.parent_key) as parent_key,
        coupled.parent_key as natural_parent_key,
        coupled.target_key, coupled.etag, coupled.modified_at, coupled.is_deleted, coupled.is_active,
        coupled.is_primary,
        coalesce(coupled.reason, cascaded.reason) as reason,
        coalesce(coupled.reason_detail, cascaded.reason_detail) as reason_detail,
        coupled.record_key, coupled.is_recorded_coupling, coupled.matched_by
    from coupled
    left join cascaded
        on coupled.entity = cascaded.entity and coupled.side = cascaded.side and coupled.source_id = cascaded.source_id
    left join entities on coupled.entity = entities.entity
    left join rekeyed
        on rekeyed.entity = entities.parent_entity and rekeyed.side = coupled.side
        and rekeyed.natural_record_key = coupled.parent_key
)

select * from final
