-- F&O sales prices of released products: each release is a price in the price list of its
-- company's accounting currency, keyed <price list name>|<product number>
{{ erp_prices('ReleasedProductsV2', 'stg_erp__released_products_v2',
    finops_key('product', 'releases.company', 'releases.item_number'), 'sales_price', 'sales_unit_symbol') }}
