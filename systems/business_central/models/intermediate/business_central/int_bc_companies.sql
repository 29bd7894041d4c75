-- BC companies with the canonical company (the company map's short code, usmf/demf) the map gives
-- them by the BC company's name (seeds: company_map.bc_company); null: unmapped. Canonical keys stay
-- `<company>|<number>` whichever ERP plays the role.
with companies as (
    select * from {{ ref('stg_bc__companies') }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

final as (
    select
        companies.company_id,
        companies.company_name,
        company_map.company,
        company_map.accounting_currency,
        company_map.company_rank
    from companies
    left join company_map on companies.company_name = company_map.bc_company
)

select * from final
