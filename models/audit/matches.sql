-- This run's match-based coupling (seeds/match_rules.csv, int_record_matches): one row per source
-- row a rule decided - 'matched' (coupled with the one counterpart; the writeback records the
-- coupling as coupled_by 'match:<fields>') or 'ambiguous' (in quarantine, candidates listed).
with matches as (
    select * from {{ ref('int_record_matches') }}
),

records as (
    select entity, side, source_id, record_key from {{ ref('int_records') }}
),

final as (
    select
        matches.entity,
        matches.side as system,
        matches.source_id,
        matches.record_key as natural_record_key,
        records.record_key,
        matches.outcome,
        matches.priority,
        matches.fields,
        'match:' || matches.fields as coupled_by,
        matches.candidate_keys,
        matches.reason_detail
    from matches
    inner join records
        on matches.entity = records.entity
        and matches.side = records.side
        and matches.source_id = records.source_id
)

select * from final
