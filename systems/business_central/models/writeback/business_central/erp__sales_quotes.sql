-- CRM quotes -> BC salesQuotes: a new quote is created with its number and its lines in one request
-- (deep insert: salesQuoteLines in the payload), a changed quote is patched (If-Match)
{{ writeback_rows(
    'quote', 'erp',
    create_defaults=portable_json_merge_patch(
        portable_json_object("'number', pairs.crm_natural_key"),
        "(select " ~ portable_json_object("'salesQuoteLines', coalesce(" ~ bc_deep_insert_lines('int_bc_quote_line_writes', 'pairs.record_key') ~ ", " ~ portable_json_array() ~ ")") ~ ")")
) }}
