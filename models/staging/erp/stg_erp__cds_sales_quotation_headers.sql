with source as (
    select * from {{ source('erp_raw', 'cds_sales_quotation_headers') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(sales_quotation_number), '') as quote_number,
        sales_quotation_name as quote_name,
        nullif(trim(requesting_customer_account_number), '') as customer_account,
        nullif(trim(invoice_customer_account_number), '') as invoice_customer_account,
        currency_code,
        sales_quotation_status as quotation_status,
        sales_quotation_expiry_date as expiry_date,
        nullif(trim(generated_sales_order_number), '') as generated_order_number,
        payment_terms_name,
        cast(quotation_total_amount as decimal(18, 4)) as total_amount,
        cast(quotation_total_tax_amount as decimal(18, 4)) as total_tax,
        odata_etag
    from source
)

select * from final
