-- F&O sales order lines in the canonical vocabulary, keyed <order key>|<line creation sequence number>
{% call erp_document_lines(
    'order_line', 'CDSSalesOrderLines', 'stg_erp__cds_sales_order_lines',
    header='order', number='order_number',
    key=['order_number', 'sequence_number']) %}
        {{ canonical_text('product_number') }} as product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        {{ canonical_text('unit_symbol') }} as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount,
        {{ canonical_text('tax_amount', 'decimal') }} as tax_amount
{% endcall %}
