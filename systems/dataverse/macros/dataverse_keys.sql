{#
    How a record is addressed in Dataverse (Dynamics 365 Sales): the one place its alternate keys
    are spelled. A Dataverse row is addressed by its GUID primary key when p2c knows it
    (`<entity set without the s>id`, built in the Dataverse mapping models), else by an alternate
    key. The role-neutral layer asks `dataverse_create_key` (through `system_create_key`, by the
    name of the system that plays the CRM role) for the key a record of the other system gets when
    p2c creates it in Dataverse.
#}

{#- canonical entity -> (entity set, alternate key column) of the Dataverse tables p2c addresses by number -#}
{% macro dataverse_alternate_keys() %}
    {{ return({
        'customer': ('accounts', 'accountnumber'),
        'contact': ('contacts', 'p2c_contactnumber'),
        'product': ('products', 'productnumber'),
        'quote': ('quotes', 'quotenumber'),
        'order': ('salesorders', 'ordernumber'),
        'invoice': ('invoices', 'invoicenumber'),
    }) }}
{% endmacro %}

{#- A lookup reference the writeback resolves to a GUID: {"ref": set, "key": {key_name: key_value}}. -#}
{% macro dataverse_ref(entity_set, key_name, key_value) -%}
    {{ portable_json_object("'ref', '" ~ entity_set ~ "', 'key', " ~ portable_json_object("'" ~ key_name ~ "', " ~ key_value)) }}
{%- endmacro %}

{#-
    The Dataverse key a canonical record gets when p2c creates it in Dataverse, from the record's
    canonical key parts (columns of `record`: entity, natural_key, parent_key, header_number,
    line_number): a number's alternate key; a document line is its header (a reference) and its
    sequence number; a price list item is its price list and product (references).
-#}
{% macro dataverse_create_key(record) -%}
    {%- set keys = dataverse_alternate_keys() -%}
    case {{ record }}.entity
        {%- for entity, (entity_set, key) in keys.items() %}
        when '{{ entity }}' then {{ json_key("'" ~ key ~ "'", record ~ '.natural_key') }}
        {%- endfor %}
        when 'price' then {{ json_key(
            "'_pricelevelid_value'", dataverse_ref('pricelevels', 'name', record ~ '.header_number'),
            "'_productid_value'", dataverse_ref(keys['product'][0], keys['product'][1], record ~ '.parent_key')) }}
        {%- for line, header in [('quote_line', 'quote'), ('order_line', 'order'), ('invoice_line', 'invoice')] %}
        {%- set header_set, header_key = keys[header] %}
        when '{{ line }}' then {{ json_key(
            "'_" ~ header_set[:-1] ~ "id_value'", dataverse_ref(header_set, header_key, record ~ '.header_number'),
            "'sequencenumber'", record ~ '.line_number') }}
        {%- endfor %}
    end
{%- endmacro %}
