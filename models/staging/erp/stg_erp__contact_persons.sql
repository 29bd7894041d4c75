with source as (
    select * from {{ source('erp_raw', 'contact_persons') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(contact_person_id), '') as contact_person_id,
        nullif(trim(contact_person_party_number), '') as contact_person_party_number,
        nullif(trim(associated_party_number), '') as associated_party_number,
        contact_person_name,
        first_name,
        last_name,
        primary_email_address as email,
        primary_phone_number as phone,
        employment_job_title as job_title,
        is_contact_person_externally_maintained = 'Yes' as is_externally_maintained,
        coalesce(is_inactive = 'Yes', false) as is_inactive,
        last_edit_date_time as modified_at,
        odata_etag
    from source
)

select * from final
