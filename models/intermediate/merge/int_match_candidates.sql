-- The rows match-based coupling may still couple, long: one row per field a match rule of its
-- entity names (a canonical field, natural_key or parent_key), as canonical text. A row takes part when
-- it is clean (no quarantine reason), primary and live, no recorded coupling holds it, and the other
-- system has no row under the same record key (a row paired by its key, or whose counterpart is in
-- quarantine under that key, is not matched again). Only entities with rules in seeds/match_rules.csv.

with records as (
    select * from {{ ref('int_records_by_key') }}
),

rule_fields as (
    -- the fields the rules name, per entity (a rule's fields are joined by '+')
    select distinct entity, trim(field) as field
    from (
        select entity, unnest(string_to_array(fields, '+')) as field
        from {{ ref('match_rules') }}
    ) as split
),

rules as (
    select distinct entity from rule_fields
),

open_records as (
    select records.entity, records.side, records.source_id, records.record_key, records.company
    from records
    inner join rules
        on records.entity = rules.entity
    where records.reason is null
        and records.is_primary
        and not coalesce(records.is_deleted, false)
        and not records.is_recorded_coupling
        and not exists (
            select 1
            from records as other
            where other.entity = records.entity
                and other.record_key = records.record_key
                and other.side <> records.side
        )
),

values_long as (
    {{ mapped_values_long(['natural_key', 'parent_key']) }}
),

final as (
    select
        open_records.entity,
        open_records.side,
        open_records.source_id,
        open_records.record_key,
        open_records.company,
        values_long.field,
        values_long.value
    from open_records
    inner join values_long
        on open_records.entity = values_long.entity
        and open_records.side = values_long.side
        and open_records.source_id = values_long.source_id
    inner join rule_fields
        on values_long.entity = rule_fields.entity
        and values_long.field = rule_fields.field
)

select * from final
