-- BC sales order lines (no timestamp: read through their changed headers).
with source as (
    select * from {{ source('business_central', 'sales_order_lines') }}
),

final as (
    select
        {{ bc_document_line_columns() }},
        cast(shipped_quantity as decimal(18, 4)) as shipped_quantity,
        cast(invoiced_quantity as decimal(18, 4)) as invoiced_quantity,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
