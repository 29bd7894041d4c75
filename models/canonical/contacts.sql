-- Canonical contacts: one row per contact in either system, each field's merged value in its
-- canonical type, the record's identity in both systems and which system each value came from.
-- Columns and where they come from: _canonical.yml (the model's contract).
-- Incremental: a build rebuilds only the rows of the records int_changed_records lists
-- (macros/incremental_records.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='record_key',
    pre_hook="{{ forget_changed_records('contact') }}",
) }}

with pairs as (
    -- the record in both systems (int_record_pairs): keys, presence; soft-deleted CRM rows
    -- with no ERP counterpart are not canonical records
    select * from {{ ref('int_record_pairs') }} as record_pairs
    where entity = 'contact' and presence <> 'none'
        and {{ changed_records_only('record_pairs') }}
),

merged as (
    -- the three-way merge (int_merge): one row per field, its merged value as canonical text
    -- and the system it came from
    select * from {{ ref('int_merge') }} as merge_rows
    where entity = 'contact'
        and {{ changed_records_only('merge_rows') }}
),

pivoted as (
    select
        record_key,
        max(case when field = 'first_name' then merged_value end) as first_name,
        max(case when field = 'last_name' then merged_value end) as last_name,
        max(case when field = 'email' then merged_value end) as email,
        max(case when field = 'phone' then merged_value end) as phone,
        max(case when field = 'job_title' then merged_value end) as job_title,
        max(case when field = 'customer_account' then merged_value end) as customer_account,
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
        pivoted.first_name,
        pivoted.last_name,
        pivoted.email,
        pivoted.phone,
        pivoted.job_title,
        pivoted.customer_account,
        pivoted.value_sources
    from pairs
    inner join pivoted
        on pairs.record_key = pivoted.record_key
)

select * from final
