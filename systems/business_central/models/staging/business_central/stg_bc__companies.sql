-- BC companies (GET companies): the GUID every other row carries as company_id.
with source as (
    select * from {{ source('business_central', 'companies') }}
),

final as (
    select
        id as company_id,
        {{ bc_text('name') }} as company_name,
        {{ bc_text('display_name') }} as display_name
    from source
)

select * from final
