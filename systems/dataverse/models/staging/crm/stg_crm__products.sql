with source as (
    select * from {{ source('crm_raw', 'products') }}
),

final as (
    select
        productid as product_id,
        nullif(trim(productnumber), '') as product_number,
        name as product_name,
        description,
        cast(price as decimal(18, 4)) as list_price,
        cast(standardcost as decimal(18, 4)) as standard_cost,
        cast(quantityonhand as decimal(18, 4)) as quantity_on_hand,
        cast(currentcost as decimal(18, 4)) as current_cost,
        _defaultuomid_value as default_unit_id,
        _defaultuomscheduleid_value as unit_group_id,
        _pricelevelid_value as default_price_list_id,
        _transactioncurrencyid_value as currency_id,
        producttypecode as product_type_code,
        quantitydecimal as quantity_decimals,
        p2c_isexternallymaintained as is_externally_maintained,
        statecode as state_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
