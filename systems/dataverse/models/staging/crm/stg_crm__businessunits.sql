with source as (
    select * from {{ source('crm_raw', 'businessunits') }}
),

final as (
    select
        businessunitid as business_unit_id,
        name as business_unit_name,
        _parentbusinessunitid_value as parent_business_unit_id,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
