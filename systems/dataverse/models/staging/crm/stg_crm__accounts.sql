with source as (
    select * from {{ source('crm_raw', 'accounts') }}
),

final as (
    select
        accountid as account_id,
        nullif(trim(accountnumber), '') as account_number,
        name as account_name,
        emailaddress1 as email,
        telephone1 as phone,
        websiteurl as website,
        address1_line1 as street,
        address1_city as city,
        address1_postalcode as postal_code,
        address1_country as country_name,
        cast(creditlimit as decimal(18, 4)) as credit_limit,
        paymenttermscode as payment_terms_code,
        customertypecode as customer_type_code,
        _transactioncurrencyid_value as currency_id,
        _primarycontactid_value as primary_contact_id,
        p2c_customergroupid as customer_group_id,
        p2c_onholdstatus as on_hold_status,
        _ownerid_value as owner_id,
        _owningbusinessunit_value as business_unit_id,
        statecode as state_code,
        statuscode as status_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
