-- BC person contacts in the canonical vocabulary (company contacts are BC's customer cards, not
-- canonical contacts): the display name splits at its first space into first and last name, the
-- customer is the one whose company contact the person belongs to (int_bc_customer_contacts)
with contacts as (
    select * from {{ ref('stg_bc__contacts') }}
    where contact_type = 'Person'
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

customer_contacts as (
    select * from {{ ref('int_bc_customer_contacts') }}
),

mapped as (
    select
        contacts.*,
        companies.company,
        customer_contacts.customer_number,
        strpos(contacts.contact_name, ' ') as name_break
    from contacts
    left join companies on contacts.company_id = companies.company_id
    left join customer_contacts
        on contacts.company_id = customer_contacts.company_id
        and contacts.company_number = customer_contacts.contact_number
),

final as (
    select
        'contact' as entity,
        'erp' as side,
        'contacts' as entity_set,
        {{ business_central_key('company_id', 'contact_id') }} as source_id,
        company || '|' || contact_number as record_key,
        contact_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        company || '|' || customer_number as parent_key,
        {{ business_central_key('company_id', 'contact_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when contact_number is null then 'missing_key'
            when company is null then 'unmapped_company'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then 'BC company ' || company_id
        end as reason_detail,
        {{ canonical_text('case when name_break > 0 then substr(contact_name, 1, name_break - 1) end') }} as first_name,
        {{ canonical_text('case when name_break > 0 then substr(contact_name, name_break + 1) else contact_name end') }} as last_name,
        {{ canonical_text('email') }} as email,
        {{ canonical_text('phone') }} as phone,
        {{ canonical_text('job_title') }} as job_title,
        customer_number as customer_account
    from mapped
)

select * from final
