-- F&O sales prices -> CRM price list items in the price list of the releasing company's currency
{{ writeback_rows('price', 'crm', create_defaults="json_object('pricingmethodcode', 1)") }}
