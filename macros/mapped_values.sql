{#
    Every mapping model's usable rows unpivoted, long: (entity, side, source_id, field, value) for
    the entity's canonical fields (canonical_fields) and the envelope columns in `extra_fields`, as
    canonical text; rows that are primary, clean (no quarantine reason) and live. The merge's
    int_field_values and match-based coupling's int_match_candidates read the mapping models through it.

    mapped_values_text() is the same rows wide: one row per source row, (entity, side, source_id,
    fields), `fields` the entity's canonical fields' text in their order (chr(31) between them, chr(30)
    for null). int_record_digests reads it: one text per source row, not one row per field.
#}
{% macro mapped_values_long(extra_fields=[]) %}
    {%- set parts = [] %}
    {%- for entity in canonical_entities() %}
        {%- for side in ['crm', 'erp'] %}
            {%- do parts.append((entity, side, ref('int_' ~ entity ~ 's__' ~ side))) %}
        {%- endfor %}
    {%- endfor %}
    {%- for entity, side, relation in parts %}
    {%- for field in canonical_fields(entity) + extra_fields %}
    select '{{ entity }}' as entity, '{{ side }}' as side, source_id, '{{ field }}' as field,
           cast({{ field }} as varchar) as value
    from {{ relation }}
    where is_primary and reason is null and not is_deleted
    {%- if not loop.last %} union all {% endif %}
    {%- endfor %}
    {%- if not loop.last %} union all {% endif %}
    {%- endfor %}
{% endmacro %}

{% macro mapped_values_text() %}
    {%- for entity in canonical_entities() %}
    {%- set entity_loop = loop %}
    {%- for side in ['crm', 'erp'] %}
    select '{{ entity }}' as entity, '{{ side }}' as side, source_id,
           {% for field in canonical_fields(entity) -%}
           coalesce(cast({{ field }} as varchar), chr(30)){% if not loop.last %} || chr(31) || {% endif %}
           {%- endfor %} as fields
    from {{ ref('int_' ~ entity ~ 's__' ~ side) }}
    where is_primary and reason is null and not is_deleted
    {%- if not (entity_loop.last and loop.last) %} union all {% endif %}
    {%- endfor %}
    {%- endfor %}
{% endmacro %}
