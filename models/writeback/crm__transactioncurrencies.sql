-- ERP currencies -> CRM transaction currencies (ERP → CRM, create only): a currency code the ERP uses
-- that the currency map names (seeds/currency_map.csv: the CRM's name for the code) but the CRM does
-- not have yet. Created by upsert on a GUID derived from the code (Dataverse has no alternate key on
-- transactioncurrencies), so a create sent twice lands on one row; the next run finds it by name.
-- Codes the map does not name are not created: the records that use them are quarantined
-- (unmapped_currency). Its exchange rate (units per one unit of the CRM's base currency, the one
-- currency whose rate is 1) is the ERP's rate of the code over the ERP's rate of the base currency
-- (int_erp_currencies: Business Central's currencyExchangeRates; F&O: none); without one, none is
-- sent and the CRM keeps its default.
with erp_currencies as (
    select * from {{ ref('int_erp_currencies') }}
),

currency_map as (
    select * from {{ ref('currency_map') }}
),

crm_currencies as (
    select * from {{ ref('int_crm_currencies') }}
),

crm_base as (
    -- the organisation's base currency: its rate is 1 (none when that is not one currency)
    select max(coalesce(currency_code, iso_currency_code)) as currency_code
    from crm_currencies
    where exchange_rate = 1
    having count(*) = 1
),

missing as (
    select
        erp_currencies.currency_code,
        currency_map.crm_currency_name,
        coalesce(erp_currencies.currency_symbol, erp_currencies.currency_code) as currency_symbol,
        round(erp_currencies.exchange_rate / nullif(base_rates.exchange_rate, 0), 6) as exchange_rate
    from erp_currencies
    inner join currency_map on erp_currencies.currency_code = currency_map.erp_currency_code
    left join crm_base on true
    left join erp_currencies as base_rates on base_rates.currency_code = crm_base.currency_code
    where not exists (
        select 1 from crm_currencies
        where crm_currencies.currency_code = erp_currencies.currency_code
            or crm_currencies.iso_currency_code = erp_currencies.currency_code
    )
),

final as (
    select
        -- typed as the writeback contract declares them (models/writeback/_writeback.yml, enforced)
        cast('currency' as varchar) as entity,
        cast(currency_code as varchar) as record_key,
        cast('crm' as varchar) as target_system,
        cast('transactioncurrencies' as varchar) as target_set,
        cast('create' as varchar) as operation,
        cast({{ portable_json_object("'transactioncurrencyid', " ~ stable_guid("'p2c/transactioncurrencies/' || currency_code")) }} as json) as target_key,
        cast(case
            when exchange_rate is null then {{ portable_json_object("'isocurrencycode', currency_code, 'currencyname', crm_currency_name, 'currencysymbol', currency_symbol, 'currencyprecision', 2") }}
            else {{ portable_json_object("'isocurrencycode', currency_code, 'currencyname', crm_currency_name, 'currencysymbol', currency_symbol, 'currencyprecision', 2, 'exchangerate', exchange_rate") }}
        end as json) as payload,
        cast({{ portable_json_object("'currency', " ~ portable_json_object("'old', null, 'new', currency_code")) }} as json) as changes,
        cast(null as varchar) as etag,
        cast({{ portable_json_array() }} as json) as depends_on,
        cast('{}' as json) as base_after,
        cast(null as varchar) as crm_id,
        cast(null as varchar) as erp_key,
        cast(0 as integer) as sequence
    from missing
)

select * from final
