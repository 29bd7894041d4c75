{#
    Every mapping model's usable rows unpivoted, long: (entity, side, source_id, field, value) for
    the entity's canonical fields (canonical_fields) and the envelope columns in `extra_fields`, as
    canonical text; rows that are primary, clean (no quarantine reason) and live. The merge's
    int_field_values and match-based coupling's int_match_candidates read the mapping models through it.
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
