-- canonical invoice lines: merged values of both systems (see macros/canonical_table.sql)
{{ canonical_table('invoice_line') }}
