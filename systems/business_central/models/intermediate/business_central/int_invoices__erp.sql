-- BC posted sales invoices in the canonical vocabulary (BC → CRM), with the order they were posted from
{% call bc_document_header('invoice', 'salesInvoices', 'stg_bc__sales_invoices') %}
        {{ canonical_text('customer_number') }} as customer_account,
        {{ canonical_text('order_number') }} as order_number,
        {{ canonical_text('currency') }} as currency,
        cast(invoice_date as varchar) as invoice_date,
        {{ canonical_text('total_amount_including_tax', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax_amount', 'decimal') }} as total_tax,
        {{ canonical_text(bc_total_discount('mapped', 'stg_bc__sales_invoice_lines'), 'decimal') }} as total_discount,
        {{ canonical_text('0', 'decimal') }} as total_charges
{% endcall %}
