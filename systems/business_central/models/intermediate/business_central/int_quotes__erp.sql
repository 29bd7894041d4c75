-- BC sales quotes in the canonical vocabulary (the CRM quote's name travels as externalDocumentNumber)
{% call bc_document_header('quote', 'salesQuotes', 'stg_bc__sales_quotes') %}
        {{ canonical_text('external_document_number') }} as name,
        {{ canonical_text('customer_number') }} as customer_account,
        {{ canonical_text('currency') }} as currency,
        {{ canonical_text('(select salespeople.user_id from ' ~ ref('int_bc_salespeople') ~ ' as salespeople where salespeople.company_id = mapped.company_id and salespeople.salesperson_code = mapped.salesperson)') }} as owner
{% endcall %}
