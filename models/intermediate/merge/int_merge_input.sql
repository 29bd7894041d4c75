-- The three-way merge's input, long and generic: for every canonical record and mapped field,
-- the CRM value, the ERP value, the base (p2c_sync.sync_state), the owner and the policy.
-- Incremental: a build merges again only the records int_changed_records lists (see
-- macros/incremental_records.sql); a full refresh merges every record.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key=['entity', 'record_key'],
    pre_hook="{{ forget_changed_records() }}",
) }}

with pairs as (
    select * from {{ ref('int_record_pairs') }} as record_pairs
    where presence <> 'none'
        and {{ changed_records_only('record_pairs') }}
),

field_values as (
    select * from {{ ref('int_field_values') }} as field_value_rows
    where {{ changed_records_only('field_value_rows') }}
),

ownership as (
    -- a field the ERP's field map writes to neither system (Business Central has no customer group)
    -- is not synchronised: it takes no part in the merge
    select ownership.*
    from {{ ref('field_ownership') }} as ownership
    where not exists (
        select 1 from {{ ref('field_map') }} as field_map
        where field_map.entity = ownership.entity and field_map.field = ownership.field
            and field_map.crm_attribute is null and field_map.erp_attribute is null)
),

policies as (
    select * from {{ ref('conflict_policy') }}
),

base as (
    select * from {{ source('p2c_sync', 'sync_state') }} as base_rows
    where {{ changed_records_only('base_rows') }}
),

decisions as (
    select * from {{ source('p2c_sync', 'conflict_decisions') }}
),

final as (
    select
        pairs.entity,
        pairs.record_key,
        ownership.field,
        pairs.presence,
        crm_values.value as crm_value,
        erp_values.value as erp_value,
        base.value as base_value,
        pairs.has_base,
        ownership.owner,
        pairs.master,
        coalesce(policies.policy, 'owner_wins') as policy,
        pairs.crm_modified_at,
        pairs.erp_modified_at,
        decisions.take as decision_take,
        decisions.value as decision_value
    from pairs
    inner join ownership
        on pairs.entity = ownership.entity
    left join policies
        on pairs.entity = policies.entity
    left join field_values as crm_values
        on crm_values.side = 'crm'
        and pairs.entity = crm_values.entity
        and pairs.record_key = crm_values.record_key
        and ownership.field = crm_values.field
    left join field_values as erp_values
        on erp_values.side = 'erp'
        and pairs.entity = erp_values.entity
        and pairs.record_key = erp_values.record_key
        and ownership.field = erp_values.field
    left join base
        on pairs.entity = base.entity
        and pairs.record_key = base.record_key
        and ownership.field = base.field
    left join decisions
        on pairs.entity = decisions.entity
        and pairs.record_key = decisions.record_key
        and ownership.field = decisions.field
)

select * from final
