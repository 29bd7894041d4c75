-- The currency codes Business Central uses, each once (BC keeps a currency per company; each
-- company's local currency has no row: it comes from the company map), with BC's name and symbol
with currencies as (
    select * from {{ ref('stg_bc__currencies') }}
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

codes as (
    select currency_code, min(currency_name) as currency_name, min(currency_symbol) as currency_symbol
    from currencies
    inner join companies on currencies.company_id = companies.company_id
    where currency_code is not null
    group by currency_code
),

final as (
    select * from codes
    union all
    select distinct accounting_currency, cast(null as varchar), cast(null as varchar)
    from companies
    where accounting_currency is not null
        and accounting_currency not in (select currency_code from codes)
)

select * from final
