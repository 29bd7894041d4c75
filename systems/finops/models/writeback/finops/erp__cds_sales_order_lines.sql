-- CRM order lines -> F&O sales order lines
{{ writeback_rows('order_line', 'erp', create_defaults="cast(pairs.erp_create_key as json)") }}
