-- F&O sales prices -> CRM price list items in the price list of the releasing company's currency
-- (prices of products the ERP no longer sells and the CRM lacks are in quarantine: parent_missing)
{{ writeback_rows('price', 'crm', create_defaults=portable_json_object("'pricingmethodcode', 1")) }}
