{#
    A canonical table: one row per canonical record of the entity, the merged value of every
    field in its canonical type, the identities in both systems, and `value_sources`: JSON
    field -> 'crm' | 'erp' | 'decision' (which system each value came from).
    Soft-deleted CRM rows with no ERP counterpart are not canonical records.
#}
{% macro canonical_table(entity) %}
with pairs as (
    select * from {{ ref('int_record_pairs') }}
    where entity = '{{ entity }}' and presence <> 'none'
),

merged as (
    select * from {{ ref('int_merge') }}
    where entity = '{{ entity }}'
),

pivoted as (
    select
        record_key,
        {%- for field, type in canonical_fields(entity) %}
        max(case when field = '{{ field }}' then merged_value end) as {{ field }},
        {%- endfor %}
        {{ portable_json_group_object('field', 'merged_from') }} as value_sources
    from merged
    group by record_key
),

final as (
    select
        pairs.record_key,
        pairs.company,
        pairs.parent_key,
        pairs.crm_id,
        pairs.erp_key,
        pairs.presence,
        {%- for field, type in canonical_fields(entity) %}
        {{ from_canonical_text('pivoted.' ~ field, type) }} as {{ field }},
        {%- endfor %}
        pivoted.value_sources
    from pairs
    inner join pivoted
        on pairs.record_key = pivoted.record_key
)

select * from final
{% endmacro %}
