-- CRM accounts -> F&O customers: new ones with the legal entity's template defaults and
-- IsExternallyMaintained = Yes, changed CRM-owned fields, deactivation of deleted/inactive accounts
{{ writeback_rows(
    'customer', 'erp',
    create_defaults="(select " ~ portable_json_object("
            'dataAreaId', pairs.company,
            'CustomerAccount', pairs.crm_natural_key,
            'PartyType', 'Organization',
            'CustomerGroupId', t.customer_group_id,
            'LanguageId', t.language_id,
            'SiteId', t.site_id,
            'WarehouseId', t.warehouse_id,
            'IsExternallyMaintained', 'Yes'") ~ "
        from " ~ ref('customer_template') ~ " as t where t.company = pairs.company)",
    deactivate_when="(crm_deleted or not crm_active) and erp_active and erp_key is not null",
    deactivate_payload=portable_json_object("'OnHoldStatus', 'All'")
) }}
