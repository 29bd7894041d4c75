-- F&O released products -> CRM products (externally maintained, in the unit's unit group);
-- products the ERP stops selling (or deletes) are retired in the CRM
{{ writeback_rows(
    'product', 'crm',
    create_defaults=portable_json_object("
            'p2c_isexternallymaintained', true,
            'producttypecode', 1,
            'quantitydecimal', 2,
            'defaultuomscheduleid@odata.bind', (
                select '/uomschedules(' || min(units.unit_group_id) || ')'
                from " ~ ref('int_crm_units') ~ " as units
                inner join " ~ ref('int_merge') ~ " as unit_field
                    on unit_field.entity = 'product' and unit_field.field = 'unit'
                    and unit_field.record_key = pairs.record_key
                    and units.unit_symbol = unit_field.merged_value)"),
    deactivate_when="(erp_deleted or not erp_active) and crm_active and crm_id is not null",
    deactivate_payload=portable_json_object("'statecode', 1, 'statuscode', 2")
) }}
