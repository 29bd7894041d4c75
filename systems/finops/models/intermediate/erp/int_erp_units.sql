-- The unit symbols F&O knows (UnitsOfMeasure is global), with F&O's description
with units as (
    select * from {{ ref('stg_erp__units_of_measure') }}
),

final as (
    select unit_symbol as unit_code, min(unit_description) as unit_name
    from units
    where unit_symbol is not null
    group by unit_symbol
)

select * from final
