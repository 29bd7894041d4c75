-- seeds/match_rules.csv names only fields its entity has (the canonical fields of
-- models/canonical/_canonical.yml, natural_key, parent_key) and at most var('match_rules_max', 5)
-- rules per entity: a misspelt field or a rule past the limit would never match, silently.
{%- set known = [] %}
{%- for entity in canonical_entities() %}
    {%- for field in canonical_fields(entity) + ['natural_key', 'parent_key'] %}
        {%- do known.append((entity, field)) %}
    {%- endfor %}
{%- endfor %}

with rules as (
    select * from {{ ref('match_rules') }}
),

rule_fields as (
    select entity, priority, fields, trim(field) as field
    from (
        select entity, priority, fields, unnest(string_to_array(fields, '+')) as field
        from rules
    ) as split
),

known as (
    {%- for entity, field in known %}
    select '{{ entity }}' as entity, '{{ field }}' as field
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

unknown_fields as (
    select rule_fields.entity, rule_fields.priority, rule_fields.fields,
           'unknown field ' || rule_fields.field as problem
    from rule_fields
    left join known
        on rule_fields.entity = known.entity
        and rule_fields.field = known.field
    where known.field is null
),

too_many as (
    select entity, max(priority) as priority, cast(count(*) as varchar) as fields,
           'more than {{ var("match_rules_max", 5) }} rules' as problem
    from rules
    group by entity
    having count(*) > {{ var('match_rules_max', 5) }}
)

select * from unknown_fields
union all
select * from too_many
