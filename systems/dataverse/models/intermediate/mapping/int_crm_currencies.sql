-- CRM currencies with their ERP currency code (null: the currency map does not know the name) and
-- their exchange rate (units per one unit of the organisation's base currency, whose rate is 1)
with currencies as (
    select * from {{ ref('stg_crm__transactioncurrencies') }}
),

currency_map as (
    select * from {{ ref('currency_map') }}
),

final as (
    select
        currencies.currency_id,
        currencies.currency_name,
        currencies.iso_currency_code,
        currency_map.erp_currency_code as currency_code,
        currencies.exchange_rate
    from currencies
    left join currency_map
        on currencies.currency_name = currency_map.crm_currency_name
)

select * from final
