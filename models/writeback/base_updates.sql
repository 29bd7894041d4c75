-- Coupled records whose base moves with nothing written (both sides agreed, or a first sync
-- found them equal): the writeback stores them in sync_state/couplings without any HTTP.
-- "Nothing pending" and "the base moves" are semi/anti joins on the record's key, not filters on
-- aggregates: a planner cannot estimate a filter on max(...) and PostgreSQL, guessing one row,
-- rescanned the grouped bases once per pair (over half an hour at medium)
-- Incremental, as the canonical tables: a record's row follows from its own pair and merge rows
-- only, so a build rebuilds the rows of the records int_changed_records lists
-- (macros/incremental_records.sql); a full refresh every record's.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key=['entity', 'record_key'],
    pre_hook="{{ forget_changed_records() }}",
) }}

with pairs as (
    select * from {{ ref('int_record_pairs') }} as record_pairs
    where presence = 'both'
        and {{ changed_records_only('record_pairs') }}
),

merged as (
    select * from {{ ref('int_merge') }} as merge_rows
    where presence = 'both'
        and {{ changed_records_only('merge_rows') }}
),

pending as (
    select distinct entity, record_key
    from merged
    where write_crm or write_erp or is_held
),

moving as (
    select distinct entity, record_key
    from merged
    where not has_base or base_after_value is distinct from base_value
),

settling as (
    -- the records whose base moves with nothing pending: only their fields are gathered
    select moving.entity, moving.record_key
    from moving
    where not exists (
        select 1 from pending
        where pending.entity = moving.entity and pending.record_key = moving.record_key
    )
),

settled_fields as (
    -- each settling record's fields, every row with the record's bases as one JSON object: a
    -- window, not a group by, so DuckDB can spill it (a first sync settles most records)
    select
        merged.entity,
        merged.record_key,
        {{ portable_json_group_object_over('merged.field', 'merged.base_after_value', 'merged.entity, merged.record_key') }} as base_after,
        row_number() over (partition by merged.entity, merged.record_key) as field_number
    from merged
    where exists (
        select 1 from settling
        where settling.entity = merged.entity and settling.record_key = merged.record_key
    )
),

bases as (
    select entity, record_key, base_after
    from settled_fields
    where field_number = 1
),

final as (
    select
        -- typed as the enforced contract declares them (models/writeback/_writeback.yml)
        cast(pairs.entity as varchar) as entity,
        cast(pairs.record_key as varchar) as record_key,
        cast(pairs.crm_id as varchar) as crm_id,
        cast(pairs.erp_key as varchar) as erp_key,
        cast(pairs.company as varchar) as company,
        cast(bases.base_after as json) as base_after
    from pairs
    inner join bases
        on pairs.entity = bases.entity and pairs.record_key = bases.record_key
)

select * from final
