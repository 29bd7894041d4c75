-- BC item unit prices: each company's item is a price in the price list of its company's
-- accounting currency, keyed <price list name>|<product number>
{{ erp_prices('items', 'stg_bc__items',
    business_central_key('releases.company_id', 'releases.item_id'), 'unit_price', 'unit_code') }}
