-- The currency codes Business Central uses, each once (BC keeps a currency per company; each
-- company's local currency has no row: it comes from the company map), with BC's name and symbol,
-- and its exchange rate: units of the currency per one unit of `rate_currency`, the local currency
-- of the company map's first company, read from that company's currencyExchangeRates (the rate in
-- force today: the latest starting date not after it, against the local currency). Null where BC
-- has no such rate.
with currencies as (
    select * from {{ ref('stg_bc__currencies') }}
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

exchange_rates as (
    select * from {{ ref('stg_bc__currency_exchange_rates') }}
),

codes as (
    select currency_code, min(currency_name) as currency_name, min(currency_symbol) as currency_symbol
    from currencies
    inner join companies on currencies.company_id = companies.company_id
    where currency_code is not null
    group by currency_code
),

all_codes as (
    select * from codes
    union all
    select distinct accounting_currency, cast(null as varchar), cast(null as varchar)
    from companies
    where accounting_currency is not null
        and accounting_currency not in (select currency_code from codes)
),

reference_company as (
    select company_id, accounting_currency
    from companies
    where company is not null and accounting_currency is not null
    order by company_rank, company
    limit 1
),

rates_in_force as (
    select
        exchange_rates.currency_code,
        exchange_rates.exchange_rate_amount / exchange_rates.relational_exchange_rate_amount as exchange_rate,
        row_number() over (
            partition by exchange_rates.currency_code order by exchange_rates.starting_date desc
        ) as newest
    from exchange_rates
    inner join reference_company on exchange_rates.company_id = reference_company.company_id
    where not exchange_rates.is_deleted
        and exchange_rates.relational_currency_code is null
        and exchange_rates.starting_date <= current_date
        and exchange_rates.exchange_rate_amount > 0
        and exchange_rates.relational_exchange_rate_amount > 0
),

final as (
    select
        all_codes.currency_code,
        all_codes.currency_name,
        all_codes.currency_symbol,
        case
            when all_codes.currency_code = reference_company.accounting_currency then cast(1 as decimal(18, 6))
            else cast(rates_in_force.exchange_rate as decimal(18, 6))
        end as exchange_rate,
        reference_company.accounting_currency as rate_currency
    from all_codes
    left join reference_company on true
    left join rates_in_force
        on all_codes.currency_code = rates_in_force.currency_code
        and rates_in_force.newest = 1
)

select * from final
