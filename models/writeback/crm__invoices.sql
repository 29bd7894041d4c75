-- F&O invoices -> CRM invoices (read-only copies), for customers the CRM knows; created in the
-- business unit of their legal entity (p2c's application user may sit in one mapped to none)
{{ writeback_rows(
    'invoice', 'crm',
    create_defaults=portable_json_object("
            'name', pairs.erp_natural_key,
            'p2c_isexternallymaintained', true,
            'owningbusinessunit@odata.bind', (
                select '/businessunits(' || min(companies.business_unit_id) || ')'
                from " ~ ref('int_companies') ~ " as companies
                where companies.company = pairs.company),
            'pricelevelid@odata.bind', (
                select '/pricelevels(name=''' || replace(price_lists.price_list_name, '''', '''''') || ''')'
                from " ~ ref('price_list_map') ~ " as price_lists
                inner join " ~ ref('int_merge') ~ " as currency_field
                    on currency_field.entity = 'invoice' and currency_field.field = 'currency'
                    and currency_field.record_key = pairs.record_key
                    and price_lists.currency_code = currency_field.merged_value)"),
    create_when="exists (
            select 1 from " ~ ref('int_record_pairs') ~ " as customers
            where customers.entity = 'customer' and customers.record_key = pairs.parent_key
                and customers.crm_id is not null)"
) }}
