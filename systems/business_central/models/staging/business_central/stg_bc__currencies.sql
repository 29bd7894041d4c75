-- BC currencies per company (the company's local currency has no row).
with source as (
    select * from {{ source('business_central', 'currencies') }}
),

final as (
    select
        company_id,
        id as currency_id,
        {{ bc_text('code') }} as currency_code,
        {{ bc_text('display_name') }} as currency_name,
        {{ bc_text('symbol') }} as currency_symbol,
        last_modified_date_time as modified_at
    from source
)

select * from final
