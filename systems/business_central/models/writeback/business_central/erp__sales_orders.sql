-- CRM orders -> BC salesOrders: a new order is created with its number and its lines in one request
-- (deep insert: salesOrderLines in the payload), a changed order is patched (If-Match)
{{ writeback_rows(
    'order', 'erp',
    create_defaults=portable_json_merge_patch(
        portable_json_object("'number', pairs.crm_natural_key"),
        "(select " ~ portable_json_object("'salesOrderLines', coalesce(" ~ bc_deep_insert_lines('int_bc_order_line_writes', 'pairs.record_key') ~ ", " ~ portable_json_array() ~ ")") ~ ")")
) }}
