-- BC sales orders per company (status Draft / In Review / Open; fully_shipped once posted).
with source as (
    select * from {{ source('business_central', 'sales_orders') }}
),

final as (
    select
        {{ bc_document_head_columns() }},
        {{ bc_date('order_date') }} as order_date,
        {{ bc_date('requested_delivery_date') }} as requested_delivery_date,
        coalesce(fully_shipped, false) as is_fully_shipped,
        {{ bc_text('status') }} as status,
        last_modified_date_time as modified_at,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
