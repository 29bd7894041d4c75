-- CRM quotes -> F&O sales quotation headers
{{ writeback_rows('quote', 'erp', create_defaults="cast(pairs.erp_create_key as json)") }}
