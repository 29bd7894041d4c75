with source as (
    select * from {{ source('crm_raw', 'uomschedules') }}
),

final as (
    select
        uomscheduleid as unit_group_id,
        name as unit_group_name,
        baseuomname as base_unit_name,
        statecode as state_code,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
