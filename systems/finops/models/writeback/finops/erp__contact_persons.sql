-- CRM contacts -> F&O contact persons of the parent customer's party; deleted/inactive contacts
-- deactivate their contact person
{{ writeback_rows(
    'contact', 'erp',
    create_defaults=portable_json_merge_patch("cast(pairs.erp_create_key as json)", portable_json_object("'IsContactPersonExternallyMaintained', 'Yes'")),
    deactivate_when="(crm_deleted or not crm_active) and erp_active and erp_key is not null",
    deactivate_payload=portable_json_object("'IsInactive', 'Yes'")
) }}
