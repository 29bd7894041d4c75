-- BC posted sales invoices per company, with the order they were posted from.
with source as (
    select * from {{ source('business_central', 'sales_invoices') }}
),

final as (
    select
        {{ bc_document_head_columns() }},
        {{ bc_date('invoice_date') }} as invoice_date,
        {{ bc_date('due_date') }} as due_date,
        {{ bc_guid('order_id') }} as order_id,
        {{ bc_text('order_number') }} as order_number,
        cast(remaining_amount as decimal(18, 4)) as remaining_amount,
        {{ bc_text('status') }} as status,
        last_modified_date_time as modified_at,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
