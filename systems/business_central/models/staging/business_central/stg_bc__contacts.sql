-- BC contacts per company: persons (type Person, companyNumber = their company contact) and the company contact of each customer (type Company).
with source as (
    select * from {{ source('business_central', 'contacts') }}
),

final as (
    select
        company_id,
        id as contact_id,
        {{ bc_text('number') }} as contact_number,
        {{ bc_text('type') }} as contact_type,
        {{ bc_text('display_name') }} as contact_name,
        {{ bc_text('job_title') }} as job_title,
        {{ bc_text('company_number') }} as company_number,
        {{ bc_text('company_name') }} as company_name,
        {{ bc_text('contact_business_relation') }} as contact_business_relation,
        {{ bc_text('address_line1') }} as street,
        {{ bc_text('city') }} as city,
        {{ bc_text('country') }} as country_code,
        {{ bc_text('postal_code') }} as postal_code,
        {{ bc_text('phone_number') }} as phone,
        {{ bc_text('mobile_phone_number') }} as mobile_phone,
        {{ bc_text('email') }} as email,
        privacy_blocked,
        last_modified_date_time as modified_at,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
