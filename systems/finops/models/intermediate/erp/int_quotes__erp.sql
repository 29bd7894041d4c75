-- F&O sales quotation headers in the canonical vocabulary
{% call erp_document_header(
    'quote', 'CDSSalesQuotationHeaders', 'stg_erp__cds_sales_quotation_headers',
    number='quote_number', key=['quote_number']) %}
        {{ canonical_text('quote_name') }} as name,
        {{ canonical_text('customer_account') }} as customer_account,
        {{ canonical_text('currency_code') }} as currency,
        cast(null as varchar) as owner
{% endcall %}
