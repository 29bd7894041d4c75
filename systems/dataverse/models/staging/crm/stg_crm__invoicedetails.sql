with source as (
    select * from {{ source('crm_raw', 'invoicedetails') }}
),

final as (
    select
        invoicedetailid as line_id,
        _invoiceid_value as invoice_id,
        sequencenumber as sequence_number,
        lineitemnumber as line_item_number,
        _productid_value as product_id,
        productdescription as product_description,
        coalesce(isproductoverridden, false) as is_write_in,
        coalesce(ispriceoverridden, false) as is_price_overridden,
        _uomid_value as unit_id,
        _transactioncurrencyid_value as currency_id,
        cast(quantity as decimal(18, 4)) as quantity,
        cast(priceperunit as decimal(18, 4)) as unit_price,
        cast(manualdiscountamount as decimal(18, 4)) as discount_amount,
        cast(tax as decimal(18, 4)) as tax_amount,
        cast(baseamount as decimal(18, 4)) as base_amount,
        cast(extendedamount as decimal(18, 4)) as extended_amount,

        _owningbusinessunit_value as business_unit_id,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
