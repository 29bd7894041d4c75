-- CRM business units with the ERP legal entity the company map gives them (null: unmapped)
with business_units as (
    select * from {{ ref('stg_crm__businessunits') }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

price_lists as (
    select * from {{ ref('price_list_map') }}
),

final as (
    select
        business_units.business_unit_id,
        business_units.business_unit_name,
        company_map.company,
        company_map.accounting_currency,
        company_map.company_rank,
        price_lists.price_list_name
    from business_units
    left join company_map
        on business_units.business_unit_name = company_map.business_unit_name
    left join price_lists
        on company_map.accounting_currency = price_lists.currency_code
)

select * from final
