with source as (
    select * from {{ source('erp_raw', 'sales_invoice_lines') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(invoice_number), '') as invoice_number,
        line_creation_sequence_number as sequence_number,
        invoice_date as invoiced_at,
        nullif(trim(product_number), '') as product_number,
        {{ erp_text('product_name') }} as product_description,
        cast(invoiced_quantity as decimal(18, 4)) as quantity,
        cast(sales_price as decimal(18, 4)) as unit_price,
        cast(line_amount as decimal(18, 4)) as line_amount,
        cast(line_total_discount_amount as decimal(18, 4)) as discount_amount,
        cast(line_total_tax_amount as decimal(18, 4)) as tax_amount,
        {{ erp_text('sales_unit_symbol') }} as unit_symbol,
        {{ erp_text('currency_code') }} as currency_code,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
