-- CRM contacts -> BC contacts (type Person, under their customer's company contact): BC has one
-- name field, so a new contact's displayName joins the merged first and last name
{{ writeback_rows(
    'contact', 'erp',
    create_defaults=portable_json_object("
            'number', pairs.crm_natural_key,
            'type', 'Person',
            'displayName', (
                select trim(coalesce(max(case when names.field = 'first_name' then names.merged_value end), '') || ' '
                    || coalesce(max(case when names.field = 'last_name' then names.merged_value end), ''))
                from " ~ ref('int_merge') ~ " as names
                where names.entity = 'contact' and names.record_key = pairs.record_key)")
) }}
