with source as (
    select * from {{ source('crm_raw', 'systemusers') }}
),

final as (
    select
        systemuserid as user_id,
        fullname as full_name,
        internalemailaddress as email,
        coalesce(isdisabled, false) as is_disabled,
        _businessunitid_value as business_unit_id,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
