-- CRM quotes in the canonical vocabulary, keyed within their mapped legal entity
{% call crm_document_header('quote', 'quotes', id='quote_id', number='quote_number') %}
        {{ canonical_text('quote_name') }} as name,
        customer_account,
        currency_code as currency,
        {{ canonical_text('owner_id') }} as owner
{% endcall %}
