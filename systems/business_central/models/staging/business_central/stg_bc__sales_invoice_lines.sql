-- BC posted sales invoice lines.
with source as (
    select * from {{ source('business_central', 'sales_invoice_lines') }}
),

final as (
    select
        {{ bc_document_line_columns() }},
        {{ bc_tracking_columns() }}
    from source
)

select * from final
