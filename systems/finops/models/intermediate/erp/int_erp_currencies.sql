-- The currency codes F&O knows (Currencies is global), with F&O's name and symbol; no exchange rate
-- (p2c does not read F&O's exchange rates: a currency it creates in the CRM gets none)
with currencies as (
    select * from {{ ref('stg_erp__currencies') }}
),

final as (
    select
        currency_code,
        min(currency_name) as currency_name,
        min(currency_symbol) as currency_symbol,
        cast(null as decimal(18, 6)) as exchange_rate,
        cast(null as varchar) as rate_currency
    from currencies
    where currency_code is not null
    group by currency_code
)

select * from final
