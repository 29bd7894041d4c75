with source as (
    select * from {{ source('erp_raw', 'sales_invoice_headers_v2') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(invoice_number), '') as invoice_number,
        invoice_date as invoiced_at,
        ledger_voucher,
        nullif(trim(sales_order_number), '') as order_number,
        nullif(trim(invoice_customer_account_number), '') as customer_account,
        {{ erp_text('currency_code') }} as currency_code,
        cast(total_invoice_amount as decimal(18, 4)) as total_amount,
        cast(total_tax_amount as decimal(18, 4)) as total_tax,
        cast(total_discount_amount as decimal(18, 4)) as total_discount,
        cast(total_charge_amount as decimal(18, 4)) as total_charges,
        {{ erp_text('payment_terms_name') }} as payment_terms_name,
        {{ erp_text('customers_order_reference') }} as customer_reference,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
