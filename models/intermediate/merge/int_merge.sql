-- The three-way merge of the design, field by field, written once for every entity.
--
--   CRM vs base | ERP vs base        | outcome
--   same        | same               | nothing to do
--   changed     | same               | CRM value travels if the CRM owns/shares the field, else the
--               |                    | owner's value is written back (non-owner edit, a conflict)
--   same        | changed            | the mirror case
--   changed     | changed, equal     | agreed: the base moves, nothing written
--   changed     | changed, different | conflict settled by the policy: owner_wins, last_writer_wins
--               |                    | (shared fields with both modification times), manual
--   no base (first sync): equal values agree; different ones take the owner's value ('initial').
-- Incremental, as int_merge_input: only the records int_changed_records lists are merged again.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    unique_key=['entity', 'record_key'],
    pre_hook="{{ forget_changed_records() }}",
) }}

with merge_input as (
    select * from {{ ref('int_merge_input') }} as merge_input_rows
    where {{ changed_records_only('merge_input_rows') }}
),

compared as (
    select
        *,
        -- the owning side's value; a shared field falls back to the entity's master
        case when coalesce(nullif(owner, 'shared'), master) = 'crm' then 'crm' else 'erp' end as owner_side,
        has_base and crm_value is distinct from base_value as crm_changed,
        has_base and erp_value is distinct from base_value as erp_changed
    from merge_input
),

classified as (
    select
        *,
        case
            when presence = 'crm_only' then 'crm_only'
            when presence = 'erp_only' then 'erp_only'
            when crm_value is not distinct from erp_value and (not has_base or crm_changed) then 'agreed'
            when not has_base then 'first_sync'
            when not crm_changed and not erp_changed then 'unchanged'
            when crm_changed and not erp_changed then 'crm_changed'
            when erp_changed and not crm_changed then 'erp_changed'
            else 'both_changed'
        end as merge_case
    from compared
),

decided as (
    select
        *,
        case
            when merge_case in ('crm_only', 'unchanged', 'agreed') then case when presence = 'erp_only' then 'erp' else 'crm' end
            when merge_case = 'erp_only' then 'erp'
            when merge_case = 'first_sync' then owner_side
            when merge_case = 'crm_changed' then case when owner in ('crm', 'shared') then 'crm' else 'erp' end
            when merge_case = 'erp_changed' then case when owner in ('erp', 'shared') then 'erp' else 'crm' end
            -- both changed, differently
            when policy = 'manual' and decision_take is not null then decision_take
            when policy = 'manual' then 'held'
            when policy = 'last_writer_wins' and owner = 'shared'
                and crm_modified_at is not null and erp_modified_at is not null
                then case when erp_modified_at > crm_modified_at then 'erp' else 'crm' end
            else owner_side
        end as winner
    from classified
),

final as (
    select
        entity,
        record_key,
        field,
        presence,
        crm_value,
        erp_value,
        base_value,
        has_base,
        owner,
        policy,
        crm_modified_at,
        erp_modified_at,
        merge_case,
        case
            when winner = 'crm' then crm_value
            when winner = 'erp' then erp_value
            when winner = 'value' then decision_value
            else case when owner_side = 'crm' then crm_value else erp_value end
        end as merged_value,
        case when winner in ('crm', 'erp') then winner when winner = 'value' then 'decision' else owner_side end as merged_from,
        case
            when merge_case = 'first_sync' then 'initial'
            when merge_case = 'crm_changed' and winner = 'erp' then 'erp_wins'
            when merge_case = 'erp_changed' and winner = 'crm' then 'crm_wins'
            when merge_case = 'both_changed' and winner = 'held' then 'held'
            when merge_case = 'both_changed' and decision_take is not null and policy = 'manual' then 'decided'
            when merge_case = 'both_changed' then winner || '_wins'
        end as outcome,
        winner = 'held' as is_held
    from decided
)

select
    *,
    outcome is not null as is_conflict,
    presence = 'both' and not is_held and merged_value is distinct from crm_value as write_crm,
    presence = 'both' and not is_held and merged_value is distinct from erp_value as write_erp,
    case when is_held then base_value else merged_value end as base_after_value
from final
