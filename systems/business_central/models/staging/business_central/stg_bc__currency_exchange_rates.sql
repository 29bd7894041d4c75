-- BC currency exchange rates per company: exchange_rate_amount units of currency_code equal
-- relational_exchange_rate_amount units of relational_currency_code (blank: the local currency).
with source as (
    select * from {{ source('business_central', 'currency_exchange_rates') }}
),

final as (
    select
        company_id,
        id as exchange_rate_id,
        {{ bc_text('currency_code') }} as currency_code,
        {{ bc_date('starting_date') }} as starting_date,
        cast(exchange_rate_amount as decimal(18, 6)) as exchange_rate_amount,
        {{ bc_text('relational_currency_code') }} as relational_currency_code,
        cast(relational_exchange_rate_amount as decimal(18, 6)) as relational_exchange_rate_amount,
        last_modified_date_time as modified_at,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
