with source as (
    select * from {{ source('erp_raw', 'contact_persons') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(contact_person_id), '') as contact_person_id,
        nullif(trim(contact_person_party_number), '') as contact_person_party_number,
        nullif(trim(associated_party_number), '') as associated_party_number,
        {{ erp_text('contact_person_name') }} as contact_person_name,
        {{ erp_text('first_name') }} as first_name,
        {{ erp_text('last_name') }} as last_name,
        {{ erp_text('primary_email_address') }} as email,
        {{ erp_text('primary_phone_number') }} as phone,
        {{ erp_text('employment_job_title') }} as job_title,
        is_contact_person_externally_maintained = 'Yes' as is_externally_maintained,
        coalesce(is_inactive = 'Yes', false) as is_inactive,
        {{ erp_datetime('last_edit_date_time') }} as modified_at,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
