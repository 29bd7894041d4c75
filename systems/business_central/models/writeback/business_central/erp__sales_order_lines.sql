-- CRM order lines -> BC salesOrderLines: changed lines, and new lines of a order BC already has (the
-- lines of a order p2c creates go inside its create: erp__sales_orders); the lines of an order BC has
-- posted are skipped with the reason (bc_document_writes)
{% call bc_document_writes('order', 'line') -%}
{{ bc_line_writeback('order') }}
{%- endcall %}
