-- Every write of a CRM order line to BC (writeback_rows): erp__sales_orders deep-inserts the creates of
-- a new order's lines, erp__sales_order_lines sends the rest
{{ bc_line_writes('order_line') }}
