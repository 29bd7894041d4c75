-- Canonical customers: one row per customer in either system, each field's merged value in its
-- canonical type, the record's identity in both systems and which system each value came from.
-- Columns and where they come from: _canonical.yml (the model's contract).
-- Incremental: a build rebuilds only the rows of the records int_changed_records lists
-- (macros/incremental_records.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key='record_key',
    pre_hook="{{ forget_changed_records('customer') }}",
) }}

with pairs as (
    -- the record in both systems (int_record_pairs): keys, presence; soft-deleted CRM rows
    -- with no ERP counterpart are not canonical records
    select * from {{ ref('int_record_pairs') }} as record_pairs
    where entity = 'customer' and presence <> 'none'
        and {{ changed_records_only('record_pairs') }}
),

merged as (
    -- the three-way merge (int_merge): one row per field, its merged value as canonical text
    -- and the system it came from
    select * from {{ ref('int_merge') }} as merge_rows
    where entity = 'customer'
        and {{ changed_records_only('merge_rows') }}
),

pivoted as (
    select
        record_key,
        max(case when field = 'name' then merged_value end) as name,
        max(case when field = 'email' then merged_value end) as email,
        max(case when field = 'phone' then merged_value end) as phone,
        max(case when field = 'website' then merged_value end) as website,
        max(case when field = 'street' then merged_value end) as street,
        max(case when field = 'city' then merged_value end) as city,
        max(case when field = 'postal_code' then merged_value end) as postal_code,
        max(case when field = 'country' then merged_value end) as country,
        max(case when field = 'currency' then merged_value end) as currency,
        max(case when field = 'payment_terms' then merged_value end) as payment_terms,
        max(case when field = 'credit_limit' then merged_value end) as credit_limit,
        max(case when field = 'customer_group' then merged_value end) as customer_group,
        max(case when field = 'on_hold_status' then merged_value end) as on_hold_status,
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
        pivoted.email,
        pivoted.phone,
        pivoted.website,
        pivoted.street,
        pivoted.city,
        pivoted.postal_code,
        pivoted.country,
        pivoted.currency,
        pivoted.payment_terms,
        cast(pivoted.credit_limit as decimal(18, 4)) as credit_limit,
        pivoted.customer_group,
        pivoted.on_hold_status,
        pivoted.owner,
        pivoted.value_sources
    from pairs
    inner join pivoted
        on pairs.record_key = pivoted.record_key
)

select * from final
