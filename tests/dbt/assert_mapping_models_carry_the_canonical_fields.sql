{#
    Every mapping model (int_<entity>s__crm, int_<entity>s__erp) declares, after the record envelope,
    exactly the canonical fields of its entity: the contract columns of the canonical model
    (models/canonical/_canonical.yml, read through canonical_fields()). The mapping models' contracts
    (models/intermediate/_mapping_models.yml) hold each model to its declaration; this test holds the
    two declarations to each other, and every mapping model to the envelope int_customers__crm
    declares. One row per disagreement; none when they agree.
#}
{%- set problems = [] %}
{%- if execute %}
    {#- the envelope as int_customers__crm declares it (the yml's anchors): its columns before the customer fields #}
    {%- set first = graph.nodes.values() | selectattr('name', 'equalto', 'int_customers__crm') | first %}
    {%- set envelope = first.columns.keys() | reject('in', canonical_fields('customer')) | list %}
    {%- for entity in canonical_entities() %}
        {%- set expected = envelope + canonical_fields(entity) %}
        {%- for side in ['crm', 'erp'] %}
            {%- set name = 'int_' ~ entity ~ 's__' ~ side %}
            {%- set nodes = graph.nodes.values() | selectattr('name', 'equalto', name) | list %}
            {%- set declared = (nodes[0].columns.keys() | list) if nodes else [] %}
            {%- if declared != expected %}
                {%- do problems.append((name, 'declares ' ~ declared | join(', ') ~ '; expected ' ~ expected | join(', '))) %}
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
{%- endif %}
{%- for model, problem in problems %}
select '{{ model }}' as model, '{{ problem }}' as problem
{% if not loop.last %}union all{% endif %}
{%- else %}
select cast(null as varchar) as model, cast(null as varchar) as problem where false
{%- endfor %}
