with source as (
    select * from {{ source('crm_raw', 'contacts') }}
),

final as (
    select
        contactid as contact_id,
        nullif(trim(p2c_contactnumber), '') as contact_number,
        firstname as first_name,
        lastname as last_name,
        fullname as full_name,
        emailaddress1 as email,
        telephone1 as phone,
        jobtitle as job_title,
        _parentcustomerid_value as parent_customer_id,
        _transactioncurrencyid_value as currency_id,
        _owningbusinessunit_value as business_unit_id,
        statecode as state_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
