{#
    The canonical fields of each entity and their types: the one list the unpivot (merge input)
    and the canonical tables' pivot share. Each field also has a row in seeds/field_map.csv (how
    each system spells it) and seeds/field_ownership.csv (who owns it).
#}
{% macro canonical_fields(entity) %}
    {%- set fields = {
        'customer': [('name', 'string'), ('email', 'string'), ('phone', 'string'), ('website', 'string'),
                     ('street', 'string'), ('city', 'string'), ('postal_code', 'string'), ('country', 'string'),
                     ('currency', 'string'), ('payment_terms', 'string'), ('credit_limit', 'decimal'),
                     ('customer_group', 'string'), ('on_hold_status', 'string')],
        'contact': [('first_name', 'string'), ('last_name', 'string'), ('email', 'string'), ('phone', 'string'),
                    ('job_title', 'string'), ('customer_account', 'string')],
        'product': [('name', 'string'), ('unit', 'string'), ('standard_cost', 'decimal')],
        'price': [('amount', 'decimal'), ('unit', 'string')],
        'quote': [('name', 'string'), ('customer_account', 'string'), ('currency', 'string')],
        'quote_line': [('product_number', 'string'), ('quantity', 'decimal'), ('unit', 'string'),
                       ('unit_price', 'decimal'), ('discount_amount', 'decimal')],
        'order': [('name', 'string'), ('customer_account', 'string'), ('currency', 'string'),
                  ('payment_terms', 'string'), ('processing_status', 'string'), ('total_amount', 'decimal'),
                  ('total_tax', 'decimal'), ('total_charges', 'decimal'), ('total_discount', 'decimal')],
        'order_line': [('product_number', 'string'), ('quantity', 'decimal'), ('unit', 'string'),
                       ('unit_price', 'decimal'), ('discount_amount', 'decimal'), ('tax_amount', 'decimal')],
        'invoice': [('customer_account', 'string'), ('order_number', 'string'), ('currency', 'string'),
                    ('invoice_date', 'date'), ('total_amount', 'decimal'), ('total_tax', 'decimal'),
                    ('total_discount', 'decimal'), ('total_charges', 'decimal')],
        'invoice_line': [('product_number', 'string'), ('quantity', 'decimal'), ('unit', 'string'),
                         ('unit_price', 'decimal'), ('discount_amount', 'decimal'), ('tax_amount', 'decimal')],
    } -%}
    {{ return(fields[entity]) }}
{% endmacro %}

{% macro canonical_entities() %}
    {{ return(['customer', 'contact', 'product', 'price', 'quote', 'quote_line', 'order', 'order_line', 'invoice', 'invoice_line']) }}
{% endmacro %}
