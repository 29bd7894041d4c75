-- ERP units of measure -> CRM units (ERP → CRM, create only): a unit code the ERP uses that the unit
-- map names (systems/<erp>/seeds/<erp>/unit_map.csv: the CRM's unit name for the code) but the CRM does not have yet,
-- created in the unit group of the CRM's mapped units (BC's "Unit Group" of its base units) as one
-- of its base unit. Created by upsert on a GUID derived from the code, so a create sent twice lands on
-- one row; the next run finds it by name. Codes the map does not name are not created (the items on
-- them are quarantined: unmapped_unit).
with erp_units as (
    select * from {{ ref('int_erp_units') }}
),

unit_map as (
    select * from {{ ref('unit_map') }}
),

crm_units as (
    select * from {{ ref('int_crm_units') }}
),

unit_group as (
    -- the group most mapped CRM units are in, and its base unit
    select units.unit_group_id, min(base.unit_id) as base_unit_id
    from {{ ref('stg_crm__uoms') }} as units
    left join {{ ref('stg_crm__uoms') }} as base
        on base.unit_group_id = units.unit_group_id and base.unit_id = units.base_unit_id
    where not units.is_deleted
        and units.unit_id in (select unit_id from crm_units where unit_symbol is not null)
    group by units.unit_group_id
    order by count(*) desc, units.unit_group_id
    limit 1
),

missing as (
    select erp_units.unit_code, unit_map.crm_unit_name
    from erp_units
    inner join unit_map on erp_units.unit_code = unit_map.erp_unit_symbol
    where not exists (
        select 1 from crm_units where crm_units.unit_symbol = erp_units.unit_code
    )
),

final as (
    select
        -- typed as the writeback contract declares them (models/writeback/_writeback.yml, enforced)
        cast('unit' as varchar) as entity,
        cast(missing.unit_code as varchar) as record_key,
        cast('crm' as varchar) as target_system,
        cast('uoms' as varchar) as target_set,
        cast('create' as varchar) as operation,
        cast({{ portable_json_object("'uomid', " ~ stable_guid("'p2c/uoms/' || missing.unit_code")) }} as json) as target_key,
        cast({{ portable_json_object("'name', missing.crm_unit_name, 'quantity', 1,
            'uomscheduleid@odata.bind', '/uomschedules(' || unit_group.unit_group_id || ')',
            'baseuom@odata.bind', '/uoms(' || unit_group.base_unit_id || ')'") }} as json) as payload,
        cast({{ portable_json_object("'unit', " ~ portable_json_object("'old', null, 'new', missing.unit_code")) }} as json) as changes,
        cast(null as varchar) as etag,
        cast({{ portable_json_array() }} as json) as depends_on,
        cast('{}' as json) as base_after,
        cast(null as varchar) as crm_id,
        cast(null as varchar) as erp_key,
        cast(1 as integer) as sequence
    from missing
    inner join unit_group on true
)

select * from final
