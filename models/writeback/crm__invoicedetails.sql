-- F&O invoice lines -> CRM invoice lines of invoices the CRM has or receives this run (the
-- invoice is in the CRM, or its customer is, so the invoice is created with it): one set of
-- such invoices, not a lookup per line
{{ writeback_rows(
    'invoice_line', 'crm',
    create_defaults=portable_json_object("'isproductoverridden', false, 'ispriceoverridden', true"),
    create_when="pairs.parent_key in (
            select invoices.record_key
            from " ~ ref('int_record_pairs') ~ " as invoices
            left join " ~ ref('int_record_pairs') ~ " as customers
                on customers.entity = 'customer' and customers.record_key = invoices.parent_key
            where invoices.entity = 'invoice'
                and (invoices.crm_id is not null or customers.crm_id is not null))"
) }}
