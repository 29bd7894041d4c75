-- CRM orders -> BC salesOrders: a new order is created with its number and its lines in one request
-- (deep insert: salesOrderLines in the payload), a changed order is patched (If-Match); what BC refuses
-- (a posted order, a blocked customer's new order) is skipped with its reason (bc_document_writes)
{% call bc_document_writes('order', 'header') -%}
{{ writeback_rows('order', 'erp', create_defaults=bc_document_create_defaults('order', 'salesOrderLines')) }}
{%- endcall %}
