-- BC units of measure per company with the canonical company; a unit is known when the unit map has it
with units as (
    select * from {{ ref('stg_bc__units_of_measure') }}
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

unit_map as (
    select * from {{ ref('unit_map') }}
),

final as (
    select
        companies.company,
        units.company_id,
        units.unit_id,
        units.unit_code,
        units.unit_name,
        unit_map.crm_unit_name
    from units
    inner join companies on units.company_id = companies.company_id
    left join unit_map on units.unit_code = unit_map.erp_unit_symbol
)

select * from final
