-- BC customers per company; blocked is BC's option (' ' = not blocked, kept as null).
with source as (
    select * from {{ source('business_central', 'customers') }}
),

final as (
    select
        company_id,
        id as customer_id,
        {{ bc_text('number') }} as customer_number,
        {{ bc_text('display_name') }} as customer_name,
        {{ bc_text('type') }} as customer_type,
        {{ bc_text('address_line1') }} as street,
        {{ bc_text('address_line2') }} as street2,
        {{ bc_text('city') }} as city,
        {{ bc_text('state') }} as state,
        {{ bc_text('country') }} as country_code,
        {{ bc_text('postal_code') }} as postal_code,
        {{ bc_text('phone_number') }} as phone,
        {{ bc_text('email') }} as email,
        {{ bc_text('website') }} as website,
        {{ bc_text('salesperson_code') }} as salesperson_code,
        cast(balance_due as decimal(18, 4)) as balance_due,
        cast(credit_limit as decimal(18, 4)) as credit_limit,
        {{ bc_guid('currency_id') }} as currency_id,
        {{ bc_text('currency_code') }} as currency_code,
        {{ bc_guid('payment_terms_id') }} as payment_terms_id,
        {{ bc_text('blocked') }} as blocked,
        last_modified_date_time as modified_at,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
