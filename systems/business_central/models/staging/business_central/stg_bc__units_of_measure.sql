-- BC units of measure per company.
with source as (
    select * from {{ source('business_central', 'units_of_measure') }}
),

final as (
    select
        company_id,
        id as unit_id,
        {{ bc_text('code') }} as unit_code,
        {{ bc_text('display_name') }} as unit_name,
        {{ bc_text('international_standard_code') }} as international_standard_code,
        last_modified_date_time as modified_at
    from source
)

select * from final
