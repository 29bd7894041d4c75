-- CRM orders in the canonical vocabulary, keyed within their mapped legal entity
{% call crm_document_header(
    'order', 'salesorders', id='order_id', number='order_number',
    payment_terms=true) %}
        {{ canonical_text('order_name') }} as name,
        customer_account,
        currency_code as currency,
        erp_payment_terms_name as payment_terms,
        (
            -- the CRM's processing status in the ERP's words (systems/<erp>/seeds/<erp>/order_status_map.csv)
            select status_map.erp_processing_status
            from {{ ref('order_status_map') }} as status_map
            where status_map.crm_processing_status = mapped.processing_status
        ) as processing_status,
        {{ canonical_text('total_amount', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax', 'decimal') }} as total_tax,
        {{ canonical_text('coalesce(freight_amount, 0)', 'decimal') }} as total_charges,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as total_discount,
        {{ canonical_text('owner_id') }} as owner
{% endcall %}
