-- BC sales orders per company (status Draft / In Review / Open; fully_shipped once posted).
with source as (
    select * from {{ source('business_central', 'sales_orders') }}
),

final as (
    select
        company_id,
        id as document_id,
        {{ bc_text('number') }} as document_number,
        {{ bc_text('external_document_number') }} as external_document_number,
        {{ bc_guid('customer_id') }} as customer_id,
        {{ bc_text('customer_number') }} as customer_number,
        {{ bc_text('customer_name') }} as customer_name,
        {{ bc_text('currency_code') }} as currency_code,
        {{ bc_guid('payment_terms_id') }} as payment_terms_id,
        {{ bc_text('salesperson') }} as salesperson,
        cast(discount_amount as decimal(18, 4)) as discount_amount,
        cast(total_amount_excluding_tax as decimal(18, 4)) as total_amount_excluding_tax,
        cast(total_tax_amount as decimal(18, 4)) as total_tax_amount,
        cast(total_amount_including_tax as decimal(18, 4)) as total_amount_including_tax,
        {{ bc_date('order_date') }} as order_date,
        {{ bc_date('requested_delivery_date') }} as requested_delivery_date,
        coalesce(fully_shipped, false) as is_fully_shipped,
        {{ bc_text('status') }} as status,
        last_modified_date_time as modified_at,
        coalesce(_p2c_deleted, false) as is_deleted,
        odata_etag,
        _dlt_load_id
    from source
)

select * from final
