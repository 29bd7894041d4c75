with source as (
    select * from {{ source('crm_raw', 'productpricelevels') }}
),

final as (
    select
        productpricelevelid as price_list_item_id,
        _pricelevelid_value as price_list_id,
        _productid_value as product_id,
        _uomid_value as unit_id,
        _transactioncurrencyid_value as currency_id,
        cast(amount as decimal(18, 4)) as amount,
        pricingmethodcode as pricing_method_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
