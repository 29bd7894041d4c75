with source as (
    select * from {{ source('erp_raw', 'released_products_v2') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(item_number), '') as item_number,
        nullif(trim(product_number), '') as product_number,
        {{ erp_text('product_name') }} as product_name,
        {{ erp_text('search_name') }} as search_name,
        {{ erp_text('product_type') }} as product_type,
        {{ erp_text('product_group_id') }} as product_group_id,
        {{ erp_text('inventory_unit_symbol') }} as inventory_unit_symbol,
        {{ erp_text('sales_unit_symbol') }} as sales_unit_symbol,
        cast(sales_price as decimal(18, 4)) as sales_price,
        cast(unit_cost as decimal(18, 4)) as unit_cost,
        {{ erp_text('sales_sales_tax_item_group_code') }} as sales_tax_item_group,
        coalesce(is_sales_prohibited = 'Yes', false) as is_sales_prohibited,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
