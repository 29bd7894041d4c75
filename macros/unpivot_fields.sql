{#
    One row per (record, field) from a side model whose canonical fields are text columns:
    the long form the generic three-way merge works on.
#}
{% macro unpivot_fields(relation, entity, side) -%}
    {%- for field, type in canonical_fields(entity) %}
    select
        '{{ entity }}' as entity,
        '{{ side }}' as side,
        record_key,
        '{{ field }}' as field,
        cast({{ field }} as varchar) as value
    from {{ relation }}
    where is_primary and reason is null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
