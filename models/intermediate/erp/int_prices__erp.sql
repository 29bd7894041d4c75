-- F&O sales prices of released products: each release is a price in the price list of its
-- company's accounting currency, keyed <price list name>|<product number>
with products as (
    select * from {{ ref('int_products__erp') }}
),

releases as (
    select * from {{ ref('stg_erp__released_products_v2') }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

price_lists as (
    select * from {{ ref('price_list_map') }}
),

mapped as (
    select
        products.source_id,
        products.natural_key as product_number,
        products.company,
        products.etag,
        products.reason as product_reason,
        products.reason_detail as product_reason_detail,
        price_lists.price_list_name,
        releases.sales_price,
        releases.sales_unit_symbol
    from products
    inner join releases
        on products.source_id = {{ json_key("'dataAreaId'", 'releases.company', "'ItemNumber'", 'releases.item_number') }}
    left join company_map on products.company = company_map.company
    left join price_lists on company_map.accounting_currency = price_lists.currency_code
),

final as (
    select
        'price' as entity,
        'erp' as side,
        'ReleasedProductsV2' as entity_set,
        source_id,
        price_list_name || '|' || product_number as record_key,
        price_list_name || '|' || product_number as natural_key,
        company,
        product_number as parent_key,
        source_id as target_key,
        cast(json_object(
            '_pricelevelid_value', {{ crm_ref('pricelevels', 'name', 'price_list_name') }},
            '_productid_value', {{ crm_ref('products', 'productnumber', 'product_number') }}
        ) as varchar) as counterpart_key,
        etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        true as is_active,
        true as is_primary,
        case
            when product_reason is not null then 'parent_quarantined'
            when price_list_name is null then 'unmapped_currency'
        end as reason,
        case
            when product_reason is not null then 'product ' || coalesce(product_number, source_id) || ' (' || product_reason || ')'
            when price_list_name is null then 'no price list for the currency of ' || company
        end as reason_detail,
        {{ canonical_text('sales_price', 'decimal') }} as amount,
        {{ canonical_text('sales_unit_symbol') }} as unit
    from mapped
)

select * from final
