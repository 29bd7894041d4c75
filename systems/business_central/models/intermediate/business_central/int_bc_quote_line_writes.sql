-- Every write of a CRM quote line to BC (writeback_rows): erp__sales_quotes deep-inserts the creates of
-- a new quote's lines, erp__sales_quote_lines sends the rest
{{ bc_line_writes('quote_line') }}
