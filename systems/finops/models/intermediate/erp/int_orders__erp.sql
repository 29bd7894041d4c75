-- F&O sales order headers (CDSSalesOrderHeaders) in the canonical vocabulary
{% call erp_document_header(
    'order', 'CDSSalesOrderHeaders', 'stg_erp__cds_sales_order_headers',
    number='order_number', key=['order_number']) %}
        {{ canonical_text('order_name') }} as name,
        {{ canonical_text('customer_account') }} as customer_account,
        {{ canonical_text('currency_code') }} as currency,
        {{ canonical_text('payment_terms_name') }} as payment_terms,
        {{ canonical_text('processing_status') }} as processing_status,
        {{ canonical_text('total_amount', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax', 'decimal') }} as total_tax,
        {{ canonical_text('coalesce(total_charges, 0)', 'decimal') }} as total_charges,
        {{ canonical_text('coalesce(total_discount, 0)', 'decimal') }} as total_discount,
        cast(null as varchar) as owner
{% endcall %}
