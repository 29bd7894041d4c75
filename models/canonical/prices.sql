-- Canonical prices: one row per price in either system, each field's merged value in its
-- canonical type, the record's identity in both systems and which system each value came from.
-- Columns and where they come from: _canonical.yml (the model's contract).
-- Incremental: a build rebuilds only the rows of the records int_changed_records lists
-- (macros/incremental_records.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='record_key',
    pre_hook="{{ forget_changed_records('price') }}",
) }}

with pairs as (
    -- the record in both systems (int_record_pairs): keys, presence; soft-deleted CRM rows
    -- with no ERP counterpart are not canonical records
    select * from {{ ref('int_record_pairs') }} as record_pairs
    where entity = 'price' and presence <> 'none'
        and {{ changed_records_only('record_pairs') }}
),

merged as (
    -- the three-way merge (int_merge): one row per field, its merged value as canonical text
    -- and the system it came from
    select * from {{ ref('int_merge') }} as merge_rows
    where entity = 'price'
        and {{ changed_records_only('merge_rows') }}
),

pivoted as (
    select
        record_key,
        max(case when field = 'amount' then merged_value end) as amount,
        max(case when field = 'unit' then merged_value end) as unit,
        {{ portable_json_group_object('field', 'merged_from') }} as value_sources
    from merged
    group by record_key
),

final as (
    select
        pairs.record_key,
        pairs.company,
        pairs.parent_key,
        pairs.crm_id,
        pairs.erp_key,
        pairs.presence,
        cast(pivoted.amount as decimal(18, 4)) as amount,
        pivoted.unit,
        pivoted.value_sources
    from pairs
    inner join pivoted
        on pairs.record_key = pivoted.record_key
)

select * from final
