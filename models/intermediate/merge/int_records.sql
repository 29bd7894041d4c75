-- Every source row of every entity, both systems, with its canonical key: the record key
-- p2c_sync.couplings recorded for its source id, else its natural key (int_records_by_key), else
-- the key match-based coupling found (int_record_matches): a matched pair takes the key of the
-- entity's master system. A row whose match is ambiguous goes to quarantine (ambiguous_match).
with keyed as (
    select * from {{ ref('int_records_by_key') }}
),

matches as (
    select * from {{ ref('int_record_matches') }}
),

entities as (
    select entity, master from {{ ref('entities') }}
),

final as (
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
)

select * from final
