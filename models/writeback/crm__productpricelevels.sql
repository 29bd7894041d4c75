-- F&O sales prices -> CRM price list items in the price list of the releasing company's currency
-- (not for products the ERP no longer sells: those are not brought into the CRM)
{{ writeback_rows(
    'price', 'crm',
    create_defaults="json_object('pricingmethodcode', 1)",
    create_when="exists (
            select 1 from " ~ ref('int_record_pairs') ~ " as products
            where products.entity = 'product' and products.record_key = pairs.parent_key
                and (products.crm_id is not null or coalesce(products.erp_active, true)))"
) }}
