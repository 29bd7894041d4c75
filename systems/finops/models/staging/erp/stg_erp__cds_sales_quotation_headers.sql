with source as (
    select * from {{ source('erp_raw', 'cds_sales_quotation_headers') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(sales_quotation_number), '') as quote_number,
        {{ erp_text('sales_quotation_name') }} as quote_name,
        nullif(trim(requesting_customer_account_number), '') as customer_account,
        nullif(trim(invoice_customer_account_number), '') as invoice_customer_account,
        {{ erp_text('currency_code') }} as currency_code,
        {{ erp_text('sales_quotation_status') }} as quotation_status,
        {{ erp_datetime('sales_quotation_expiry_date') }} as expiry_date,
        nullif(trim(generated_sales_order_number), '') as generated_order_number,
        {{ erp_text('payment_terms_name') }} as payment_terms_name,
        cast(quotation_total_amount as decimal(18, 4)) as total_amount,
        cast(quotation_total_tax_amount as decimal(18, 4)) as total_tax,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
