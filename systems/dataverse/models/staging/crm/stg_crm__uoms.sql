with source as (
    select * from {{ source('crm_raw', 'uoms') }}
),

final as (
    select
        uomid as unit_id,
        name as unit_name,
        _uomscheduleid_value as unit_group_id,
        _baseuom_value as base_unit_id,
        cast(quantity as decimal(18, 4)) as quantity,
        modifiedon as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag,
        coalesce(_p2c_deleted, false) as is_deleted
    from source
)

select * from final
