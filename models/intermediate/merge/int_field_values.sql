-- Every mapped field of every usable source row, long: (entity, side, record_key, field, value).
-- The fields are the canonical models' contract columns (macros/canonical_fields.sql).
{%- set parts = [] %}
{%- for entity in canonical_entities() %}
    {%- for side in ['crm', 'erp'] %}
        {%- do parts.append((entity, side, ref('int_' ~ entity ~ 's__' ~ side))) %}
    {%- endfor %}
{%- endfor %}

with values_long as (
    {%- for entity, side, relation in parts %}
    {%- for field in canonical_fields(entity) %}
    select '{{ entity }}' as entity, '{{ side }}' as side, source_id, '{{ field }}' as field,
           cast({{ field }} as varchar) as value
    from {{ relation }}
    where is_primary and reason is null and not is_deleted
    {%- if not loop.last %} union all {% endif %}
    {%- endfor %}
    {%- if not loop.last %} union all {% endif %}
    {%- endfor %}
),

records as (
    select * from {{ ref('int_records') }}
),

final as (
    select
        values_long.entity,
        values_long.side,
        records.record_key,
        values_long.field,
        values_long.value
    from values_long
    inner join records
        on values_long.entity = records.entity
        and values_long.side = records.side
        and values_long.source_id = records.source_id
    where records.is_primary and records.reason is null
)

select * from final
