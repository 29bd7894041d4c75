-- CRM accounts -> BC customers: new ones with their number and the company's template values
-- (seeds: customer_template), changed CRM-owned fields (If-Match), a deleted/inactive account
-- blocks its customer (blocked All)
{{ writeback_rows(
    'customer', 'erp',
    create_defaults="(select " ~ portable_json_object("
            'number', pairs.crm_natural_key,
            'type', t.customer_type,
            'taxLiable', cast(t.tax_liable as boolean)") ~ "
        from " ~ ref('customer_template') ~ " as t where t.company = pairs.company)",
    deactivate_when="(crm_deleted or not crm_active) and erp_active and erp_key is not null",
    deactivate_payload=portable_json_object("'blocked', 'All'")
) }}
