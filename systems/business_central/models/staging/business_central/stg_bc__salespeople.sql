-- BC salespeople per company (salespeoplePurchasers): the code customers and documents carry.
with source as (
    select * from {{ source('business_central', 'salespeople_purchasers') }}
),

final as (
    select
        company_id,
        id as salesperson_id,
        {{ bc_text('code') }} as salesperson_code,
        {{ bc_text('display_name') }} as salesperson_name,
        {{ bc_text('email') }} as email,
        {{ bc_text('email2') }} as email2,
        coalesce(blocked, false) as is_blocked,
        last_modified_date_time as modified_at,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
