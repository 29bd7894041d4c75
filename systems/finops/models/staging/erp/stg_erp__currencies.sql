with source as (
    select * from {{ source('erp_raw', 'currencies') }}
),

final as (
    select
        currency_code,
        {{ erp_text('name') }} as currency_name,
        {{ erp_text('symbol') }} as currency_symbol,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
