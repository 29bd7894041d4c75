{#
    The canonical entities and their fields.

    The fields of an entity are declared once: the columns of its canonical model's contract in
    models/canonical/_canonical.yml (the model whose `meta: {entity: ...}` names it), after the
    identity columns and before value_sources. The canonical model spells them in its SQL (the
    contract fails the build when the two disagree), and the unpivot of the mapping models
    (int_field_values) reads them here from dbt's graph at execute time. Each field also has a row in
    systems/<erp>/seeds/<erp>/field_map.csv (how each system spells it) and seeds/field_ownership.csv (who owns it).

    The entity list is static: models ref() the mapping models per entity at parse time, before
    the graph exists. seeds/entities.csv carries the same entities with their order and master.
#}

{% macro canonical_entities() %}
    {{ return(['customer', 'contact', 'product', 'price', 'quote', 'quote_line', 'order', 'order_line', 'invoice', 'invoice_line']) }}
{% endmacro %}

{#- The columns every canonical model has besides its fields. -#}
{% macro canonical_identity_columns() %}
    {{ return(['record_key', 'company', 'parent_key', 'crm_id', 'erp_key', 'presence', 'value_sources']) }}
{% endmacro %}

{#- The canonical field names of an entity, in the canonical model's order (empty while parsing). -#}
{% macro canonical_fields(entity) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.package_name == project_name
            and node.fqn[1] == 'canonical' and node.config.meta.get('entity') == entity -%}
        {%- do found.append(node) -%}
    {%- endfor -%}
    {%- if found | length != 1 -%}
        {{ exceptions.raise_compiler_error("canonical_fields('" ~ entity ~ "'): " ~ found | length ~ " canonical models declare meta entity '" ~ entity ~ "' (models/canonical/_canonical.yml); expected one") }}
    {%- endif -%}
    {%- set fields = [] -%}
    {%- for name in found[0].columns if name not in canonical_identity_columns() -%}
        {%- do fields.append(name) -%}
    {%- endfor -%}
    {%- if not fields -%}
        {{ exceptions.raise_compiler_error("canonical_fields('" ~ entity ~ "'): model " ~ found[0].name ~ " declares no field columns") }}
    {%- endif -%}
    {{ return(fields) }}
{% endmacro %}
