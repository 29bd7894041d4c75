with source as (
    select * from {{ source('erp_raw', 'currencies') }}
),

final as (
    select
        currency_code,
        name as currency_name,
        symbol as currency_symbol,
        odata_etag
    from source
)

select * from final
