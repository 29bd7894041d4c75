-- F&O customers -> CRM accounts: the ERP-owned fields (credit limit, customer group, on hold)
-- and owner values that replace non-owner edits
{{ writeback_rows('customer', 'crm') }}
