-- BC sales quotes per company.
with source as (
    select * from {{ source('business_central', 'sales_quotes') }}
),

final as (
    select
        {{ bc_document_head_columns() }},
        {{ bc_date('document_date') }} as document_date,
        {{ bc_date('valid_until_date') }} as valid_until_date,
        {{ bc_text('status') }} as status,
        last_modified_date_time as modified_at,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
