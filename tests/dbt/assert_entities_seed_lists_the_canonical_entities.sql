-- seeds/entities.csv (the entity list, its order and masters: what p2c's Python reads) and
-- canonical_entities() (macros/canonical_fields.sql: the list the merge models ref() at parse time)
-- name the same entities. A row is an entity one of them lacks.
with declared as (
    {%- for entity in canonical_entities() %}
    select '{{ entity }}' as entity
    {{- " union all" if not loop.last else "" }}
    {%- endfor %}
),

seeded as (
    select entity from {{ ref('entities') }}
),

final as (
    select entity, 'not in seeds/entities.csv' as problem
    from declared
    where entity not in (select entity from seeded)
    union all
    select entity, 'not in canonical_entities() (macros/canonical_fields.sql)' as problem
    from seeded
    where entity not in (select entity from declared)
)

select * from final
