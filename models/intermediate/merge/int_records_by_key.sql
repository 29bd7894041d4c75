-- Every source row of every entity, both systems, keyed before match-based coupling: the natural
-- key, or the record key p2c_sync.couplings already recorded for that source id (couplings win).
-- int_records applies the matches (int_record_matches) on top.
{%- set sides = [] %}
{%- for entity in canonical_entities() %}
    {%- set plural = entity ~ 's' %}
    {%- do sides.append(ref('int_' ~ plural ~ '__crm')) %}
    {%- do sides.append(ref('int_' ~ plural ~ '__erp')) %}
{%- endfor %}

with sides as (
    {%- for relation in sides %}
    select
        entity, side, entity_set, source_id, record_key as natural_record_key, natural_key,
        header_number, line_number, company, parent_key, target_key, etag,
        modified_at, is_deleted, is_active, is_primary, reason, reason_detail
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

couplings as (
    -- the pairs recorded while the system now playing the ERP role played it (a row from before
    -- couplings recorded their system was coupled by the default ERP, F&O)
    select * from {{ source('p2c_sync', 'couplings') }}
    where coalesce(erp_system, '{{ var("systems")["erp"] }}') = '{{ system_of("erp") }}'
),

final as (
    select
        sides.*,
        coalesce(by_crm.record_key, by_erp.record_key, sides.natural_record_key) as record_key,
        (by_crm.record_key is not null or by_erp.record_key is not null) as is_recorded_coupling
    from sides
    left join couplings as by_crm
        on sides.side = 'crm'
        and sides.entity = by_crm.entity
        and sides.source_id = by_crm.crm_id
    left join couplings as by_erp
        on sides.side = 'erp'
        and sides.entity = by_erp.entity
        and sides.source_id = by_erp.erp_key
)

select * from final
