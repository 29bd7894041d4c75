-- CRM price list items, keyed <price list name>|<product number>
with items as (
    select * from {{ ref('stg_crm__productpricelevels') }}
),

price_lists as (
    select * from {{ ref('stg_crm__pricelevels') }}
),

products as (
    select * from {{ ref('int_products__crm') }}
),

units as (
    select * from {{ ref('int_crm_units') }}
),

mapped as (
    select
        items.*,
        price_lists.price_list_name,
        products.natural_key as product_number,
        products.reason as product_reason,
        units.unit_name,
        units.unit_symbol,
        count(*) over (partition by price_lists.price_list_name, products.natural_key, items.is_deleted) as key_count
    from items
    left join price_lists on items.price_list_id = price_lists.price_list_id
    left join products on items.product_id = products.source_id
    left join units on items.unit_id = units.unit_id
),

final as (
    select
        'price' as entity,
        'crm' as side,
        'productpricelevels' as entity_set,
        price_list_item_id as source_id,
        price_list_name || '|' || product_number as record_key,
        price_list_name || '|' || product_number as natural_key,
        price_list_name as header_number,
        cast(null as bigint) as line_number,
        cast(null as varchar) as company,
        product_number as parent_key,
        {{ json_key("'productpricelevelid'", 'price_list_item_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when price_list_name is null then 'parent_missing'
            when product_number is null and product_reason is null then 'parent_missing'
            when product_reason is not null then 'parent_quarantined'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when unit_id is not null and unit_symbol is null then 'unmapped_unit'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when price_list_name is null then 'price list ' || coalesce(price_list_id, '(none)')
            when product_number is null and product_reason is null then 'product ' || coalesce(product_id, '(none)')
            when product_reason is not null then 'product ' || product_id || ' (' || product_reason || ')'
            when unit_id is not null and unit_symbol is null then 'unit ' || coalesce(unit_name, unit_id)
        end as reason_detail,
        {{ canonical_text('amount', 'decimal') }} as amount,
        unit_symbol as unit
    from mapped
)

select * from final
