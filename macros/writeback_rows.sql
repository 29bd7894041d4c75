{#
    The rows one target system must receive for one canonical entity, in the writeback contract
    (docs/architecture.md): create, update or deactivate, the target key, only the changing
    fields in the target API's names and vocabulary, the ETag seen at extraction, dependencies
    and the base to store once written.

    entity            canonical entity
    target            'crm' | 'erp'
    create_defaults   SQL JSON merged into a create's payload (template defaults, flags, keys)
    update_defaults   SQL JSON merged into an update's payload (flags that go with every update)
    create_when       SQL condition on `pairs` for creating (default: always when the flow creates)
    deactivate_when   SQL condition on `pairs` for a deactivation, or none
    deactivate_payload SQL JSON payload of a deactivation
#}
{% macro writeback_rows(entity, target, create_defaults=none, update_defaults=none, create_when='true',
                        deactivate_when=none, deactivate_payload=none) %}
{%- set source = 'erp' if target == 'crm' else 'crm' %}
{%- set create_presence = source ~ '_only' %}
with pairs as (
    select * from {{ ref('int_record_pairs') }}
    where entity = '{{ entity }}'
),

entities as (
    -- the entity, and the set the ERP playing the role keeps it in (its home's erp_sets seed)
    select entities.*, erp_sets.erp_set
    from {{ ref('entities') }} as entities
    left join {{ ref('erp_sets') }} as erp_sets on entities.entity = erp_sets.entity
    where entities.entity = '{{ entity }}'
),

merged as (
    -- only the merge rows that can become a write: records the target lacks (a create takes the
    -- source's values) and records with a field to write (their other fields give the base). The
    -- rest, most of the merge once the systems agree, never reaches the translations and the
    -- aggregates below; and only the columns they read (the CTEs below are held in memory whole)
    select record_key, field, presence, {{ target }}_value, merged_value, write_crm, write_erp, is_held, base_after_value
    from {{ ref('int_merge') }}
    where entity = '{{ entity }}'
        and (
            presence = '{{ create_presence }}'
            or record_key in (
                select record_key from {{ ref('int_merge') }}
                where entity = '{{ entity }}' and write_{{ target }}
            )
        )
),

field_map as (
    select
        field,
        {{ target }}_attribute as attribute,
        {{ target }}_type as api_type,
        {{ target }}_value_map as value_map,
        {% if target == 'crm' %}crm_bind{% else %}cast(null as varchar){% endif %} as bind
    from {{ ref('field_map') }}
    where entity = '{{ entity }}'
),

translations as (
    select * from {{ ref('int_value_translations') }}
),

ownership as (
    select * from {{ ref('field_ownership') }}
    where entity = '{{ entity }}'
),

translated as (
    -- every field with its value in the target's vocabulary
    select
        merged.*,
        field_map.attribute,
        field_map.api_type,
        field_map.bind,
        case
            when field_map.value_map is null then merged.merged_value
            else coalesce(per_company.{{ target }}_value, for_all.{{ target }}_value)
        end as value
    from merged
    inner join pairs on merged.record_key = pairs.record_key
    left join field_map on merged.field = field_map.field
    -- a value map is either the same for every legal entity or per legal entity: two equi-joins
    -- (an `or` in one join condition makes the database compare every pair of rows)
    left join translations as for_all
        on for_all.value_map = field_map.value_map
        and for_all.canonical_value = merged.merged_value
        and for_all.company is null
    left join translations as per_company
        on per_company.value_map = field_map.value_map
        and per_company.canonical_value = merged.merged_value
        and per_company.company = pairs.company
),

fields as (
    select
        *,
        case
            when value is null then cast('null' as json)
            when bind is not null then to_json(replace(bind, '{}', replace(value, '''', '''''')))
            when api_type = 'decimal' then to_json(cast(value as double precision))
            when api_type = 'int' then to_json(cast(value as bigint))
            when api_type = 'bool' then to_json(value = 'true')
            else to_json(value)
        end as json_value,
        -- a value the target's vocabulary cannot spell is never written (the audit lists it)
        merged_value is not null and value is null as is_untranslatable
    from translated
),

updates as (
    select
        record_key,
        'update' as operation,
        {{ portable_json_group_object('attribute', 'json_value') }} as payload,
        {{ portable_json_group_object('field', portable_json_object("'old', " ~ target ~ "_value, 'new', merged_value")) }} as changes
    from fields
    where presence = 'both'
        and write_{{ target }}
        and attribute is not null
        and not is_untranslatable
    group by record_key
),

update_bases as (
    -- fields this write settles, plus fields the base moves on without any write
    select
        fields.record_key,
        {{ portable_json_group_object('fields.field', 'fields.base_after_value') }} as base_after
    from fields
    inner join updates on fields.record_key = updates.record_key
    where (fields.write_{{ target }} and fields.attribute is not null and not fields.is_untranslatable)
        or (not fields.write_crm and not fields.write_erp and not fields.is_held)
    group by fields.record_key
),

create_fields as (
    select fields.*
    from fields
    inner join ownership on fields.field = ownership.field
    inner join pairs on fields.record_key = pairs.record_key
    inner join entities on true
    where fields.presence = '{{ create_presence }}'
        and entities.master = '{{ source }}'
        -- inactive records are not brought into the other system
        and coalesce(pairs.{{ source }}_active, true)
        -- nor over a row of the target that holds the key but is in quarantine
        and not pairs.{{ target }}_quarantined
        and ({{ create_when }})
),

create_payloads as (
    -- a new record gets every value its owner (or both, for shared fields) holds
    select
        create_fields.record_key,
        {{ portable_json_group_object('create_fields.attribute', 'create_fields.json_value') }} as payload,
        {{ portable_json_group_object('create_fields.field', portable_json_object("'old', null, 'new', create_fields.merged_value")) }} as changes
    from create_fields
    inner join ownership on create_fields.field = ownership.field
    where create_fields.attribute is not null
        and create_fields.merged_value is not null
        and not create_fields.is_untranslatable
        and ownership.owner in ('{{ source }}', 'shared')
    group by create_fields.record_key
),

create_bases as (
    -- the base a create stores: each field's merged value, but for a value the target's vocabulary
    -- cannot spell yet (a contact's customer whose BC company contact is not known): it is not sent,
    -- so the target does not hold it; with it in the base, the next run would see the target's empty
    -- field as the target's edit, a conflict (crm_wins) that settles by itself. Without it, the next
    -- run sends it as a plain change once it translates.
    select
        record_key,
        {{ portable_json_group_object('field', 'merged_value') }} as base_after
    from create_fields
    where not is_untranslatable
    group by record_key
),

create_records as (
    select distinct record_key from create_fields
),

creates as (
    -- one per record (its payload joined after the grouping: grouped with every field row, each
    -- record's payload text was held once per field)
    select
        create_records.record_key,
        'create' as operation,
        create_payloads.payload,
        create_payloads.changes,
        coalesce(create_bases.base_after, cast('{}' as json)) as base_after
    from create_records
    left join create_bases on create_records.record_key = create_bases.record_key
    left join create_payloads on create_records.record_key = create_payloads.record_key
),

{%- if deactivate_when %}

deactivations as (
    select
        record_key,
        'deactivate' as operation,
        {{ deactivate_payload }} as payload,
        cast('{}' as json) as changes,
        cast('{}' as json) as base_after
    from pairs
    where {{ deactivate_when }}
),
{%- endif %}

changed as (
    select updates.record_key, updates.operation, updates.payload, updates.changes, update_bases.base_after
    from updates
    inner join update_bases on updates.record_key = update_bases.record_key
    {%- if deactivate_when %}
    where updates.record_key not in (select record_key from deactivations)
    {%- endif %}
    union all
    select record_key, operation,
        coalesce(payload, cast('{}' as json)),
        coalesce(changes, cast('{}' as json)), base_after
    from creates
    {%- if deactivate_when %}
    union all
    select record_key, operation, payload, changes, base_after
    from deactivations
    {%- endif %}
),

final as (
    select
        -- typed as the writeback contract declares them (models/writeback/_writeback.yml, enforced)
        cast('{{ entity }}' as varchar) as entity,
        cast(changed.record_key as varchar) as record_key,
        cast('{{ target }}' as varchar) as target_system,
        cast(entities.{{ target }}_set as varchar) as target_set,
        cast(changed.operation as varchar) as operation,
        cast(case
            when changed.operation = 'create' then pairs.{{ target }}_create_key
            else pairs.{{ target }}_target_key
        end as json) as target_key,
        {%- if create_defaults or update_defaults %}
        cast(case
            {%- if create_defaults %}
            when changed.operation = 'create' then {{ portable_json_merge_patch('changed.payload', create_defaults) }}
            {%- endif %}
            {%- if update_defaults %}
            when changed.operation = 'update' then {{ portable_json_merge_patch('changed.payload', update_defaults) }}
            {%- endif %}
            else changed.payload
        end as json) as payload,
        {%- else %}
        cast(changed.payload as json) as payload,
        {%- endif %}
        cast(changed.changes as json) as changes,
        cast(case when changed.operation = 'create' then null else pairs.{{ target }}_etag end as varchar) as etag,
        cast(case
            when pairs.parent_key is null or entities.parent_entity is null then {{ portable_json_array() }}
            else {{ portable_json_array(portable_json_object("'entity', entities.parent_entity, 'record_key', pairs.parent_key")) }}
        end as json) as depends_on,
        cast(changed.base_after as json) as base_after,
        cast(pairs.crm_id as varchar) as crm_id,
        cast(pairs.erp_key as varchar) as erp_key,
        cast(entities.sequence as integer) as sequence
    from changed
    inner join pairs on changed.record_key = pairs.record_key
    inner join entities on true
)

select * from final
{% endmacro %}
