-- CRM quote lines -> F&O sales quotation lines
{{ writeback_rows('quote_line', 'erp', create_defaults="cast(pairs.erp_create_key as json)") }}
