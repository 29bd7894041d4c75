-- CRM order lines in the canonical vocabulary, keyed <order key>|<sequence number>
{% call crm_document_lines('order_line', 'salesorderdetails', header='order') %}
        product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        unit_symbol as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount,
        {{ canonical_text('tax_amount', 'decimal') }} as tax_amount
{% endcall %}
