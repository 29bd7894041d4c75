-- canonical order lines: merged values of both systems (see macros/canonical_table.sql)
{{ canonical_table('order_line') }}
