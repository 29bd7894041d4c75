-- CRM units with their ERP unit symbol (null: the unit map does not know the name)
with units as (
    select * from {{ ref('stg_crm__uoms') }}
),

unit_map as (
    select * from {{ ref('unit_map') }}
),

final as (
    select
        units.unit_id,
        units.unit_name,
        units.unit_group_id,
        unit_map.erp_unit_symbol as unit_symbol
    from units
    left join unit_map
        on units.unit_name = unit_map.crm_unit_name
)

select * from final
