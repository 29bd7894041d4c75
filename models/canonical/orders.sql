-- Canonical orders: one row per order in either system, each field's merged value in its
-- canonical type, the record's identity in both systems and which system each value came from.
-- Columns and where they come from: _canonical.yml (the model's contract).
-- Incremental: a build rebuilds only the rows of the records int_changed_records lists
-- (macros/incremental_records.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='record_key',
    pre_hook="{{ forget_changed_records('order') }}",
) }}

with pairs as (
    -- the record in both systems (int_record_pairs): keys, presence; soft-deleted CRM rows
    -- with no ERP counterpart are not canonical records
    select * from {{ ref('int_record_pairs') }} as record_pairs
    where entity = 'order' and presence <> 'none'
        and {{ changed_records_only('record_pairs') }}
),

merged as (
    -- the three-way merge (int_merge): one row per field, its merged value as canonical text
    -- and the system it came from
    select * from {{ ref('int_merge') }} as merge_rows
    where entity = 'order'
        and {{ changed_records_only('merge_rows') }}
),

pivoted as (
    select
        record_key,
        max(case when field = 'name' then merged_value end) as name,
        max(case when field = 'customer_account' then merged_value end) as customer_account,
        max(case when field = 'currency' then merged_value end) as currency,
        max(case when field = 'payment_terms' then merged_value end) as payment_terms,
        max(case when field = 'processing_status' then merged_value end) as processing_status,
        max(case when field = 'total_amount' then merged_value end) as total_amount,
        max(case when field = 'total_tax' then merged_value end) as total_tax,
        max(case when field = 'total_charges' then merged_value end) as total_charges,
        max(case when field = 'total_discount' then merged_value end) as total_discount,
        max(case when field = 'owner' then merged_value end) as owner,
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
        pivoted.name,
        pivoted.customer_account,
        pivoted.currency,
        pivoted.payment_terms,
        pivoted.processing_status,
        cast(pivoted.total_amount as decimal(18, 4)) as total_amount,
        cast(pivoted.total_tax as decimal(18, 4)) as total_tax,
        cast(pivoted.total_charges as decimal(18, 4)) as total_charges,
        cast(pivoted.total_discount as decimal(18, 4)) as total_discount,
        pivoted.owner,
        pivoted.value_sources
    from pairs
    inner join pivoted
        on pairs.record_key = pivoted.record_key
)

select * from final
