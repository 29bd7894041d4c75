-- BC sales invoice lines in the canonical vocabulary, keyed <invoice key>|<line number> (BC's sequence / 10000)
{% call bc_document_lines('invoice_line', 'salesInvoiceLines', 'stg_bc__sales_invoice_lines', header='invoice', header_staging='stg_bc__sales_invoices') %}
        {{ canonical_text('line_object_number') }} as product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        {{ canonical_text('unit_code') }} as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount,
        {{ canonical_text('total_tax_amount', 'decimal') }} as tax_amount
{% endcall %}
