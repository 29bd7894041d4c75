-- Canonical invoice lines: one row per invoice line in either system, each field's merged value in its
-- canonical type, the record's identity in both systems and which system each value came from.
-- Columns and where they come from: _canonical.yml (the model's contract).
-- Incremental: a build rebuilds only the rows of the records int_changed_records lists
-- (macros/incremental_records.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='record_key',
    pre_hook="{{ forget_changed_records('invoice_line') }}",
) }}

with pairs as (
    -- the record in both systems (int_record_pairs): keys, presence; soft-deleted CRM rows
    -- with no ERP counterpart are not canonical records
    select * from {{ ref('int_record_pairs') }} as record_pairs
    where entity = 'invoice_line' and presence <> 'none'
        and {{ changed_records_only('record_pairs') }}
),

merged as (
    -- the three-way merge (int_merge): one row per field, its merged value as canonical text
    -- and the system it came from
    select * from {{ ref('int_merge') }} as merge_rows
    where entity = 'invoice_line'
        and {{ changed_records_only('merge_rows') }}
),

pivoted as (
    select
        record_key,
        max(case when field = 'product_number' then merged_value end) as product_number,
        max(case when field = 'quantity' then merged_value end) as quantity,
        max(case when field = 'unit' then merged_value end) as unit,
        max(case when field = 'unit_price' then merged_value end) as unit_price,
        max(case when field = 'discount_amount' then merged_value end) as discount_amount,
        max(case when field = 'tax_amount' then merged_value end) as tax_amount,
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
        pivoted.product_number,
        cast(pivoted.quantity as decimal(18, 4)) as quantity,
        pivoted.unit,
        cast(pivoted.unit_price as decimal(18, 4)) as unit_price,
        cast(pivoted.discount_amount as decimal(18, 4)) as discount_amount,
        cast(pivoted.tax_amount as decimal(18, 4)) as tax_amount,
        pivoted.value_sources
    from pairs
    inner join pivoted
        on pairs.record_key = pivoted.record_key
)

select * from final
