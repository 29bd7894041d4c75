-- The unit codes Business Central uses, each once (BC keeps its units per company), with BC's name
with units as (
    select * from {{ ref('int_bc_units') }}
),

final as (
    select unit_code, min(unit_name) as unit_name
    from units
    where unit_code is not null
    group by unit_code
)

select * from final
