with source as (
    select * from {{ source('erp_raw', 'cds_sales_order_lines') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(sales_order_number), '') as order_number,
        line_creation_sequence_number as sequence_number,
        nullif(trim(product_number), '') as product_number,
        {{ erp_text('line_description') }} as product_description,
        cast(ordered_sales_quantity as decimal(18, 4)) as quantity,
        {{ erp_text('sales_unit_symbol') }} as unit_symbol,
        cast(sales_price as decimal(18, 4)) as unit_price,
        cast(line_discount_amount as decimal(18, 4)) as discount_amount,
        cast(line_amount as decimal(18, 4)) as line_amount,
        cast(total_tax_amount as decimal(18, 4)) as tax_amount,
        {{ erp_text('sales_order_line_status') }} as line_status,
        {{ erp_text('currency_code') }} as currency_code,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
