-- F&O sales quotation lines in the canonical vocabulary, keyed <quote key>|<line creation sequence number>
{% call erp_document_lines(
    'quote_line', 'CDSSalesQuotationLines', 'stg_erp__cds_sales_quotation_lines',
    header='quote', number='quote_number',
    key=['quote_number', 'sequence_number']) %}
        {{ canonical_text('product_number') }} as product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        {{ canonical_text('unit_symbol') }} as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount
{% endcall %}
