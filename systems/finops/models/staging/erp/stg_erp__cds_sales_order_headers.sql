with source as (
    select * from {{ source('erp_raw', 'cds_sales_order_headers') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(sales_order_number), '') as order_number,
        {{ erp_text('sales_order_name') }} as order_name,
        nullif(trim(ordering_customer_account_number), '') as customer_account,
        nullif(trim(invoice_customer_account_number), '') as invoice_customer_account,
        {{ erp_text('currency_code') }} as currency_code,
        {{ erp_text('sales_order_status') }} as order_status,
        {{ erp_text('sales_order_processing_status') }} as processing_status,
        {{ erp_text('payment_terms_name') }} as payment_terms_name,
        {{ erp_datetime('requested_shipping_date') }} as requested_ship_at,
        nullif(trim(quotation_number), '') as quote_number,
        {{ erp_text('customers_order_reference') }} as customer_reference,
        {{ erp_text('language_id') }} as language_id,
        ordering_customer_is_externally_maintained = 'Yes' as is_customer_externally_maintained,
        coalesce(is_sales_processing_stopped = 'Yes', false) as is_processing_stopped,
        {{ erp_datetime('order_creation_date_time') }} as created_at,
        cast(order_total_amount as decimal(18, 4)) as total_amount,
        cast(order_total_tax_amount as decimal(18, 4)) as total_tax,
        cast(order_total_charges_amount as decimal(18, 4)) as total_charges,
        cast(total_discount_amount as decimal(18, 4)) as total_discount,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
