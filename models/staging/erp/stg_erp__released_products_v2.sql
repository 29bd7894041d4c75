with source as (
    select * from {{ source('erp_raw', 'released_products_v2') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(item_number), '') as item_number,
        nullif(trim(product_number), '') as product_number,
        product_name,
        search_name,
        product_type,
        product_group_id,
        inventory_unit_symbol,
        sales_unit_symbol,
        cast(sales_price as decimal(18, 4)) as sales_price,
        cast(unit_cost as decimal(18, 4)) as unit_cost,
        sales_sales_tax_item_group_code as sales_tax_item_group,
        coalesce(is_sales_prohibited = 'Yes', false) as is_sales_prohibited,
        odata_etag
    from source
)

select * from final
