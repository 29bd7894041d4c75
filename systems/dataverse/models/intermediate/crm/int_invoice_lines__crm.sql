-- CRM invoice lines in the canonical vocabulary, keyed <invoice key>|<sequence number>
{% call crm_document_lines('invoice_line', 'invoicedetails', header='invoice') %}
        product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        unit_symbol as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount,
        {{ canonical_text('tax_amount', 'decimal') }} as tax_amount
{% endcall %}
