-- CRM quotes -> BC salesQuotes: a new quote is created with its number and its lines in one request
-- (deep insert: salesQuoteLines in the payload), a changed quote is patched (If-Match); a blocked
-- customer's new quote is skipped with its reason (bc_document_writes)
{% call bc_document_writes('quote', 'header') -%}
{{ writeback_rows('quote', 'erp', create_defaults=bc_document_create_defaults('quote', 'salesQuoteLines')) }}
{%- endcall %}
