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

coupled_ids as (
    -- each recorded pair once per side, so a row finds its coupling by (side, entity, source id):
    -- equalities only (a condition on the row's own side in the join would make DuckDB compare
    -- every row with every coupling: minutes at medium once the first sync has recorded its pairs)
    select 'crm' as side, entity, crm_id as source_id, record_key from couplings where crm_id is not null
    union all
    select 'erp' as side, entity, erp_key as source_id, record_key from couplings where erp_key is not null
),

final as (
    select
        sides.*,
        coalesce(coupled_ids.record_key, sides.natural_record_key) as record_key,
        coupled_ids.record_key is not null as is_recorded_coupling
    from sides
    left join coupled_ids
        on sides.side = coupled_ids.side
        and sides.entity = coupled_ids.entity
        and sides.source_id = coupled_ids.source_id
)

select * from final
