with source as (
    select * from {{ source('crm_raw', 'quotes') }}
),

final as (
    select
        quoteid as quote_id,
        nullif(trim(quotenumber), '') as quote_number,
        name as quote_name,
        _customerid_value as customer_id,
        _pricelevelid_value as price_list_id,
        _transactioncurrencyid_value as currency_id,
        effectivefrom as effective_from,
        effectiveto as effective_to,
        p2c_quotationstatus as quotation_status,
        p2c_hasexternallymaintainedproductsonly as has_externally_maintained_products_only,
        cast(totalamount as decimal(18, 4)) as total_amount,
        cast(totallineitemamount as decimal(18, 4)) as total_line_amount,
        cast(totaltax as decimal(18, 4)) as total_tax,
        cast(freightamount as decimal(18, 4)) as freight_amount,
        cast(discountamount as decimal(18, 4)) as discount_amount,
        _owningbusinessunit_value as business_unit_id,
        _ownerid_value as owner_id,
        statecode as state_code,
        statuscode as status_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
