-- F&O order processing status, totals, tax and charges -> the CRM order (the ERP owns them;
-- an invoiced ERP order sets the CRM order's processing status to Invoiced)
{{ writeback_rows('order', 'crm') }}
