-- BC sales orders in the canonical vocabulary. The processing status is BC's document status
-- (Draft / In Review / Open), or Shipped once the order is fully shipped, or Invoiced once a posted
-- invoice names it (BC → CRM: the order marked invoiced). Payment terms by their BC code. The total
-- discount is the lines' discounts plus the header's invoice discount (F&O's and the CRM's meaning).
{% call bc_document_header('order', 'salesOrders', 'stg_bc__sales_orders') %}
        {{ canonical_text('external_document_number') }} as name,
        {{ canonical_text('customer_number') }} as customer_account,
        {{ canonical_text('currency') }} as currency,
        {{ canonical_text('(select terms.payment_terms_code from ' ~ ref('stg_bc__payment_terms') ~ ' as terms where terms.company_id = mapped.company_id and terms.payment_terms_id = mapped.payment_terms_id)') }} as payment_terms,
        {{ canonical_text(bc_order_status('mapped')) }} as processing_status,
        {{ canonical_text('total_amount_including_tax', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax_amount', 'decimal') }} as total_tax,
        {{ canonical_text('0', 'decimal') }} as total_charges,
        {{ canonical_text(bc_total_discount('mapped', 'stg_bc__sales_order_lines'), 'decimal') }} as total_discount,
        {{ canonical_text('(select salespeople.user_id from ' ~ ref('int_bc_salespeople') ~ ' as salespeople where salespeople.company_id = mapped.company_id and salespeople.salesperson_code = mapped.salesperson)') }} as owner
{% endcall %}
