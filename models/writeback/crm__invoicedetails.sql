-- F&O invoice lines -> CRM invoice lines of invoices the CRM has or receives this run
{{ writeback_rows(
    'invoice_line', 'crm',
    create_defaults=portable_json_object("'isproductoverridden', false, 'ispriceoverridden', true"),
    create_when="exists (
            select 1 from " ~ ref('int_record_pairs') ~ " as invoices
            left join " ~ ref('int_record_pairs') ~ " as customers
                on customers.entity = 'customer' and customers.record_key = invoices.parent_key
            where invoices.entity = 'invoice' and invoices.record_key = pairs.parent_key
                and (invoices.crm_id is not null or customers.crm_id is not null))"
) }}
