-- CRM quote lines -> BC salesQuoteLines: changed lines, and new lines of a quote BC already has (the
-- lines of a quote p2c creates go inside its create: erp__sales_quotes)
{% call bc_document_writes('quote', 'line') -%}
{{ bc_line_writeback('quote') }}
{%- endcall %}
