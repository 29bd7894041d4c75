{#
    The ERP's prices (int_prices__erp of every ERP home): each company's release of a product is a
    price in the price list of its company's accounting currency, keyed <price list name>|<product
    number>; a quarantined product quarantines its price, and a product the ERP no longer sells and
    the CRM does not have keeps its price out (parent_missing).

    entity_set   the ERP's set the price is read from ('ReleasedProductsV2', 'items')
    releases     staging model of that set (one row per company and product)
    release_key  SQL: the key of a `releases` row as int_products__erp gives it (source_id)
    price, unit  columns of `releases`: the sales price and its unit
#}
{% macro erp_prices(entity_set, releases, release_key, price, unit) %}
with products as (
    select * from {{ ref('int_products__erp') }}
),

releases as (
    select * from {{ ref(releases) }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

price_lists as (
    select * from {{ ref('price_list_map') }}
),

sold_products as (
    -- the ERP sells a product when its first release does; only those are brought into the CRM
    select natural_key as product_number, is_active as is_sold
    from products
    where is_primary
),

crm_products as (
    select distinct natural_key as product_number
    from {{ ref('int_products__crm') }}
    where not is_deleted and natural_key is not null
),

mapped as (
    select
        products.source_id,
        products.natural_key as product_number,
        products.company,
        products.etag,
        products.is_deleted,
        products.reason as product_reason,
        products.reason_detail as product_reason_detail,
        price_lists.price_list_name,
        releases.{{ price }} as sales_price,
        releases.{{ unit }} as sales_unit_symbol,
        -- the product will never reach the CRM: its price would wait for it forever
        not coalesce(sold_products.is_sold, true) and crm_products.product_number is null as is_product_kept_out
    from products
    inner join releases
        on products.source_id = {{ release_key }}
    left join company_map on products.company = company_map.company
    left join price_lists on company_map.accounting_currency = price_lists.currency_code
    left join sold_products on products.natural_key = sold_products.product_number
    left join crm_products on products.natural_key = crm_products.product_number
),

final as (
    select
        'price' as entity,
        'erp' as side,
        '{{ entity_set }}' as entity_set,
        source_id,
        price_list_name || '|' || product_number as record_key,
        price_list_name || '|' || product_number as natural_key,
        price_list_name as header_number,
        cast(null as bigint) as line_number,
        company,
        product_number as parent_key,
        source_id as target_key,
        etag,
        cast(null as timestamp with time zone) as modified_at,
        is_deleted,
        true as is_active,
        true as is_primary,
        case
            when product_reason is not null then 'parent_quarantined'
            when is_product_kept_out then 'parent_missing'
            when price_list_name is null then 'unmapped_currency'
        end as reason,
        case
            when product_reason is not null then 'product ' || coalesce(product_number, source_id) || ' (' || product_reason || ')'
            when is_product_kept_out then 'product ' || product_number || ' (in the CRM; the ERP no longer sells it, so p2c does not create it there)'
            when price_list_name is null then 'no price list for the currency of ' || company
        end as reason_detail,
        {{ canonical_text('sales_price', 'decimal') }} as amount,
        {{ canonical_text('sales_unit_symbol') }} as unit
    from mapped
)

select * from final
{% endmacro %}
