-- The currency codes F&O knows (Currencies is global), with F&O's name and symbol
with currencies as (
    select * from {{ ref('stg_erp__currencies') }}
),

final as (
    select currency_code, min(currency_name) as currency_name, min(currency_symbol) as currency_symbol
    from currencies
    where currency_code is not null
    group by currency_code
)

select * from final
