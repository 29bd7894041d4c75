-- CRM quote lines -> BC salesQuoteLines: changed lines, and new lines of a quote BC already has (the
-- lines of a quote p2c creates go inside its create: erp__sales_quotes)
with line_writes as (
    select * from {{ ref('int_bc_quote_line_writes') }}
),

new_headers as (
    select record_key from {{ ref('erp__sales_quotes') }}
    where operation = 'create'
),

final as (
    select line_writes.*
    from line_writes
    where not (
        line_writes.operation = 'create'
        and line_writes.record_key like '%|%|%'
        and exists (
            select 1 from new_headers
            where line_writes.record_key like new_headers.record_key || '|%'
                and line_writes.record_key not like new_headers.record_key || '|%|%')
    )
)

select * from final
