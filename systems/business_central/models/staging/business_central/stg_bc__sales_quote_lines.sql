-- BC sales quote lines (no timestamp: read through their changed headers).
with source as (
    select * from {{ source('business_central', 'sales_quote_lines') }}
),

final as (
    select
        {{ bc_document_line_columns() }},
        {{ bc_tracking_columns() }}
    from source
)

select * from final
