-- Coupling: one row per canonical record with what each system holds for it. Only rows that
-- map cleanly take part (the others are in quarantine); a soft-deleted row (either role: the CRM's
-- change tracking, the ERP connector's id-set comparison) still pairs, so the other side can act on
-- the deletion: the record counts as present only where it is live (presence).
with records as (
    select *
    from {{ ref('int_records') }}
    where reason is null and is_primary
),

crm_ranked as (
    -- a live row wins over a deleted one with the same key (a record deleted and created again);
    -- each side ranked on its own (one window per side, each read once: DuckDB holds one side at a
    -- time, where a window over both sides read twice was kept whole in memory)
    select
        *,
        row_number() over (partition by entity, record_key order by is_deleted, source_id) as side_rank
    from records
    where side = 'crm'
),

erp_ranked as (
    select
        *,
        row_number() over (partition by entity, record_key order by is_deleted, source_id) as side_rank
    from records
    where side = 'erp'
),

crm as (
    select * from crm_ranked where side_rank = 1
),

erp as (
    select * from erp_ranked where side_rank = 1
),

quarantined as (
    -- keys a quarantined row holds on a side: nothing is created there under that key
    select entity, record_key, bool_or(side = 'crm') as crm_quarantined, bool_or(side = 'erp') as erp_quarantined
    from {{ ref('int_records') }}
    where reason is not null and record_key is not null
    group by entity, record_key
),

base as (
    select entity, record_key, max(updated_at) as base_updated_at
    from {{ source('p2c_sync', 'sync_state') }}
    group by entity, record_key
),

entities as (
    select * from {{ ref('entities') }}
),

paired as (
    select
        coalesce(crm.entity, erp.entity) as entity,
        coalesce(crm.record_key, erp.record_key) as record_key,
        coalesce(crm.company, erp.company) as company,
        coalesce(crm.parent_key, erp.parent_key) as parent_key,
        crm.source_id as crm_id,
        erp.source_id as erp_key,
        crm.target_key as crm_target_key,
        erp.target_key as erp_target_key,
        -- how to address the record in the other system before it exists there: that system
        -- builds its own key from the record's canonical key parts (macros/system_keys.sql)
        {{ system_create_key('erp', 'crm') }} as erp_create_key,
        {{ system_create_key('crm', 'erp') }} as crm_create_key,
        crm.etag as crm_etag,
        erp.etag as erp_etag,
        crm.modified_at as crm_modified_at,
        erp.modified_at as erp_modified_at,
        coalesce(crm.is_deleted, false) as crm_deleted,
        coalesce(erp.is_deleted, false) as erp_deleted,
        crm.is_active as crm_active,
        erp.is_active as erp_active,
        crm.natural_key as crm_natural_key,
        erp.natural_key as erp_natural_key,
        -- 'match:<fields>' when this run's match-based coupling paired the two (int_records)
        coalesce(crm.matched_by, erp.matched_by) as matched_by
    from crm
    full outer join erp
        on crm.entity = erp.entity
        and crm.record_key = erp.record_key
),

final as (
    select
        paired.*,
        case
            when crm_id is not null and not crm_deleted and erp_key is not null and not erp_deleted then 'both'
            when crm_id is not null and not crm_deleted then 'crm_only'
            when erp_key is not null and not erp_deleted then 'erp_only'
            else 'none'
        end as presence,
        base.record_key is not null as has_base,
        coalesce(quarantined.crm_quarantined, false) as crm_quarantined,
        coalesce(quarantined.erp_quarantined, false) as erp_quarantined,
        entities.master,
        entities.sequence
    from paired
    left join base
        on paired.entity = base.entity
        and paired.record_key = base.record_key
    left join quarantined
        on paired.entity = quarantined.entity
        and paired.record_key = quarantined.record_key
    left join entities
        on paired.entity = entities.entity
)

select * from final
