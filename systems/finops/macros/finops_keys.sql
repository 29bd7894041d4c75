{#
    How a record is addressed in Finance & Operations: the one place F&O's keys are spelled.
    Every F&O entity key starts with the legal entity (dataAreaId); `finops_keys()` lists, per
    canonical entity, the key fields after it. The F&O mapping models address their own rows with
    `finops_key`; the role-neutral layer asks `finops_create_key` (through `system_create_key`, by
    the name of the system that plays the ERP role) for the key a record of the other system gets
    when p2c creates it in F&O.
#}

{% macro finops_keys() %}
    {{ return({
        'customer': ['CustomerAccount'],
        'contact': ['ContactPersonId'],
        'product': ['ItemNumber'],
        'quote': ['SalesQuotationNumber'],
        'quote_line': ['SalesQuotationNumber', 'LineCreationSequenceNumber'],
        'order': ['SalesOrderNumber'],
        'order_line': ['SalesOrderNumber', 'LineCreationSequenceNumber'],
        'invoice': ['InvoiceNumber', 'InvoiceDate', 'LedgerVoucher'],
        'invoice_line': ['InvoiceNumber', 'LineCreationSequenceNumber', 'InvoiceDate'],
    }) }}
{% endmacro %}

{#- The F&O key of an entity as JSON text: company and the key fields' values (SQL expressions, in
    the order of finops_keys()), e.g. finops_key('customer', 'company', 'customer_account'). -#}
{% macro finops_key(entity, company) -%}
    {%- set fields = finops_keys()[entity] -%}
    {%- if varargs | length != fields | length -%}
        {{ exceptions.raise_compiler_error("finops_key('" ~ entity ~ "'): " ~ fields | length ~ " key values expected (" ~ fields | join(', ') ~ "), got " ~ varargs | length) }}
    {%- endif -%}
    {%- set args = ["'dataAreaId'", company] -%}
    {%- for field in fields %}{% do args.extend(["'" ~ field ~ "'", varargs[loop.index0]]) %}{% endfor -%}
    {{ json_key(*args) }}
{%- endmacro %}

{#-
    The F&O key a canonical record gets when p2c creates it in F&O, from the record's canonical key
    parts (columns of `record`: entity, company, natural_key, header_number, line_number). Null where
    p2c never creates the record in F&O or cannot know its key: products and prices (global in the
    CRM; F&O releases them per legal entity) and invoices and their lines (F&O numbers and dates
    them; their key holds the invoice date and voucher).
-#}
{% macro finops_create_key(record) -%}
    case {{ record }}.entity
        {%- for entity in ['customer', 'contact', 'quote', 'order'] %}
        when '{{ entity }}' then {{ finops_key(entity, record ~ '.company', record ~ '.natural_key') }}
        {%- endfor %}
        {%- for entity in ['quote_line', 'order_line'] %}
        when '{{ entity }}' then {{ finops_key(entity, record ~ '.company', record ~ '.header_number', record ~ '.line_number') }}
        {%- endfor %}
    end
{%- endmacro %}
