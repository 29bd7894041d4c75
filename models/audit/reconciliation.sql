-- Nothing lost: per entity and system, every extracted row is a canonical record, in quarantine,
-- or a soft-deleted CRM row; `difference` must be 0 (a test checks it)
with records as (
    select * from {{ ref('int_records') }}
),

pairs as (
    select * from {{ ref('int_record_pairs') }}
    where presence <> 'none'
),

classified as (
    select
        records.entity,
        records.side as system,
        records.reason is not null as is_quarantined,
        records.reason is null and records.is_deleted as is_deleted,
        records.reason is null and not records.is_deleted and pairs.record_key is not null as is_canonical
    from records
    left join pairs
        on records.entity = pairs.entity
        and records.record_key = pairs.record_key
),

final as (
    select
        entity,
        system,
        count(*) as source_rows,
        sum(case when is_canonical then 1 else 0 end) as canonical_rows,
        sum(case when is_quarantined then 1 else 0 end) as quarantined_rows,
        sum(case when is_deleted then 1 else 0 end) as deleted_rows,
        sum(case when not (is_canonical or is_quarantined or is_deleted) then 1 else 0 end) as unmatched_rows,
        count(*)
            - sum(case when is_canonical then 1 else 0 end)
            - sum(case when is_quarantined then 1 else 0 end)
            - sum(case when is_deleted then 1 else 0 end) as difference
    from classified
    group by entity, system
)

select * from final
