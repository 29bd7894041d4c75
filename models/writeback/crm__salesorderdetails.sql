-- F&O line tax -> CRM order lines
{{ writeback_rows('order_line', 'crm') }}
