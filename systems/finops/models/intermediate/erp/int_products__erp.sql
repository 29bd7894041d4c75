-- F&O released products; a product's canonical attributes come from the first company of the
-- company map that released it (is_primary), its other releases are the same canonical product
with products as (
    select * from {{ ref('stg_erp__released_products_v2') }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

unit_map as (
    select distinct erp_unit_symbol from {{ ref('unit_map') }}
),

mapped as (
    select
        products.*,
        company_map.company as mapped_company,
        unit_map.erp_unit_symbol as known_unit,
        row_number() over (
            partition by products.product_number
            order by company_map.company_rank nulls last, products.company
        ) as release_rank
    from products
    left join company_map on products.company = company_map.company
    left join unit_map on products.sales_unit_symbol = unit_map.erp_unit_symbol
),

final as (
    select
        'product' as entity,
        'erp' as side,
        'ReleasedProductsV2' as entity_set,
        {{ finops_key('product', 'company', 'item_number') }} as source_id,
        product_number as record_key,
        product_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        cast(null as varchar) as parent_key,
        {{ finops_key('product', 'company', 'item_number') }} as target_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        not is_sales_prohibited as is_active,
        release_rank = 1 as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when product_number is null then 'missing_key'
            when mapped_company is null then 'unmapped_company'
            when sales_unit_symbol is not null and known_unit is null then 'unmapped_unit'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when mapped_company is null then 'legal entity ' || company
            when sales_unit_symbol is not null and known_unit is null then 'unit ' || sales_unit_symbol
        end as reason_detail,
        {{ canonical_text('product_name') }} as name,
        {{ canonical_text('sales_unit_symbol') }} as unit,
        {{ canonical_text('unit_cost', 'decimal') }} as standard_cost,
        cast(null as varchar) as quantity_on_hand
    from mapped
)

select * from final
