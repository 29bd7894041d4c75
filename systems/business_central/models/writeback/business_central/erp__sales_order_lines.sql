-- CRM order lines -> BC salesOrderLines: changed lines, and new lines of a order BC already has (the
-- lines of a order p2c creates go inside its create: erp__sales_orders)
{{ bc_line_writeback('order') }}
