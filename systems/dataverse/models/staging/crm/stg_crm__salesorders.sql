with source as (
    select * from {{ source('crm_raw', 'salesorders') }}
),

final as (
    select
        salesorderid as order_id,
        nullif(trim(ordernumber), '') as order_number,
        name as order_name,
        _customerid_value as customer_id,
        _pricelevelid_value as price_list_id,
        _transactioncurrencyid_value as currency_id,
        _quoteid_value as quote_id,
        requestdeliveryby as requested_delivery_date,
        datefulfilled as fulfilled_date,
        submitdate as submit_date,
        paymenttermscode as payment_terms_code,
        p2c_processingstatus as processing_status,
        p2c_isexternallymaintained as is_externally_maintained,
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
