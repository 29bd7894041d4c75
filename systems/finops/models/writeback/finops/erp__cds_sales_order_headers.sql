-- CRM orders -> F&O sales order headers (what the seller enters)
{{ writeback_rows('order', 'erp', create_defaults="cast(pairs.erp_create_key as json)") }}
