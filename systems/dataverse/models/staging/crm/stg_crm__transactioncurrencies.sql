with source as (
    select * from {{ source('crm_raw', 'transactioncurrencies') }}
),

final as (
    select
        transactioncurrencyid as currency_id,
        currencyname as currency_name,
        isocurrencycode as iso_currency_code,
        currencysymbol as currency_symbol,
        cast(exchangerate as decimal(18, 4)) as exchange_rate,
        statecode as state_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
