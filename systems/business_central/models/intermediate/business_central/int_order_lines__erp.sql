-- BC sales order lines in the canonical vocabulary, keyed <order key>|<line number> (BC's sequence / 10000)
{% call bc_document_lines('order_line', 'salesOrderLines', 'stg_bc__sales_order_lines', header='order', header_staging='stg_bc__sales_orders') %}
        {{ canonical_text('line_object_number') }} as product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        {{ canonical_text('unit_code') }} as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount,
        {{ canonical_text('total_tax_amount', 'decimal') }} as tax_amount
{% endcall %}
