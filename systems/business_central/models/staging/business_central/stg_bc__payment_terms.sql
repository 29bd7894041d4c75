-- BC payment terms per company (code, due date formula).
with source as (
    select * from {{ source('business_central', 'payment_terms') }}
),

final as (
    select
        company_id,
        id as payment_terms_id,
        {{ bc_text('code') }} as payment_terms_code,
        {{ bc_text('display_name') }} as payment_terms_name,
        {{ bc_text('due_date_calculation') }} as due_date_calculation,
        last_modified_date_time as modified_at
    from source
)

select * from final
