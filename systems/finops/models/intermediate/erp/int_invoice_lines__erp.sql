-- F&O sales invoice lines in the canonical vocabulary, keyed <invoice key>|<line creation sequence number>
{% call erp_document_lines(
    'invoice_line', 'SalesInvoiceLines', 'stg_erp__sales_invoice_lines',
    header='invoice', number='invoice_number',
    key=['invoice_number', 'sequence_number', 'invoiced_at']) %}
        {{ canonical_text('product_number') }} as product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        {{ canonical_text('unit_symbol') }} as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount,
        {{ canonical_text('tax_amount', 'decimal') }} as tax_amount
{% endcall %}
