with source as (
    select * from {{ source('crm_raw', 'pricelevels') }}
),

final as (
    select
        pricelevelid as price_list_id,
        name as price_list_name,
        _transactioncurrencyid_value as currency_id,
        begindate as begin_date,
        enddate as end_date,
        statecode as state_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
