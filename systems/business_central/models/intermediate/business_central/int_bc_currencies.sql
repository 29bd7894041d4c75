-- BC currencies per company, plus each company's local currency (BC keeps no row for it: a
-- document or customer in local currency has a blank currencyCode), with the canonical company
with currencies as (
    select * from {{ ref('stg_bc__currencies') }}
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

final as (
    select companies.company, currencies.company_id, currencies.currency_id, currencies.currency_code, false as is_local
    from currencies
    inner join companies on currencies.company_id = companies.company_id
    union all
    select company, company_id, cast(null as varchar), accounting_currency, true
    from companies
    where accounting_currency is not null
)

select * from final
