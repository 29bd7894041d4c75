-- CRM quote lines in the canonical vocabulary, keyed <quote key>|<sequence number>
{% call crm_document_lines('quote_line', 'quotedetails', header='quote') %}
        product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        unit_symbol as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount
{% endcall %}
