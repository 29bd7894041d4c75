-- F&O sales invoice headers in the canonical vocabulary
{% call erp_document_header(
    'invoice', 'SalesInvoiceHeadersV2', 'stg_erp__sales_invoice_headers_v2',
    number='invoice_number', key=['invoice_number', 'invoiced_at', 'ledger_voucher']) %}
        {{ canonical_text('customer_account') }} as customer_account,
        {{ canonical_text('order_number') }} as order_number,
        {{ canonical_text('currency_code') }} as currency,
        cast({{ utc_date('invoiced_at') }} as varchar) as invoice_date,
        {{ canonical_text('total_amount', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax', 'decimal') }} as total_tax,
        {{ canonical_text('coalesce(total_discount, 0)', 'decimal') }} as total_discount,
        {{ canonical_text('coalesce(total_charges, 0)', 'decimal') }} as total_charges
{% endcall %}
