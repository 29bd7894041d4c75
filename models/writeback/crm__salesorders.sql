-- F&O order processing status, totals, tax and charges -> the CRM order (the ERP owns them;
-- an invoiced ERP order sets the CRM order's processing status to Invoiced). Every update marks
-- the order maintained externally, so the CRM keeps the ERP's totals instead of recalculating
-- them from its lines (dual-write maps the ERP's total discount, a sum of line discounts, to the
-- header discount: recalculated, it would be subtracted a second time)
{{ writeback_rows('order', 'crm', update_defaults=portable_json_object("'p2c_isexternallymaintained', true")) }}
