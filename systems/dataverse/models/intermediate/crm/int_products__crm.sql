-- CRM products (global: keyed by product number alone)
with products as (
    select * from {{ ref('stg_crm__products') }}
),

units as (
    select * from {{ ref('int_crm_units') }}
),

mapped as (
    select
        products.*,
        units.unit_name,
        units.unit_symbol,
        count(*) over (partition by products.product_number, products.is_deleted) as key_count
    from products
    left join units on products.default_unit_id = units.unit_id
),

final as (
    select
        'product' as entity,
        'crm' as side,
        'products' as entity_set,
        product_id as source_id,
        product_number as record_key,
        product_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        cast(null as varchar) as company,
        cast(null as varchar) as parent_key,
        {{ json_key("'productid'", 'product_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(state_code, 0) = 0 as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when product_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when default_unit_id is not null and unit_symbol is null then 'unmapped_unit'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when default_unit_id is not null and unit_symbol is null then 'unit ' || coalesce(unit_name, default_unit_id)
        end as reason_detail,
        {{ canonical_text('product_name') }} as name,
        unit_symbol as unit,
        {{ canonical_text('standard_cost', 'decimal') }} as standard_cost,
        {{ canonical_text('quantity_on_hand', 'decimal') }} as quantity_on_hand
    from mapped
)

select * from final
