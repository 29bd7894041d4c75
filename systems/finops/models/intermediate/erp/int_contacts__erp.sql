-- F&O contact persons in the canonical vocabulary, with the customer whose party they belong to
with contacts as (
    select * from {{ ref('stg_erp__contact_persons') }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

customers as (
    select * from {{ ref('stg_erp__customers_v3') }}
),

mapped as (
    select
        contacts.*,
        company_map.company as mapped_company,
        customers.customer_account
    from contacts
    left join company_map on contacts.company = company_map.company
    left join customers
        on contacts.company = customers.company
        and contacts.associated_party_number = customers.party_number
),

final as (
    select
        'contact' as entity,
        'erp' as side,
        'ContactPersons' as entity_set,
        {{ finops_key('contact', 'company', 'contact_person_id') }} as source_id,
        company || '|' || contact_person_id as record_key,
        contact_person_id as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        company || '|' || customer_account as parent_key,
        {{ finops_key('contact', 'company', 'contact_person_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        false as is_deleted,
        not is_inactive as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when contact_person_id is null then 'missing_key'
            when mapped_company is null then 'unmapped_company'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when mapped_company is null then 'legal entity ' || company
        end as reason_detail,
        {{ canonical_text('first_name') }} as first_name,
        {{ canonical_text('last_name') }} as last_name,
        {{ canonical_text('email') }} as email,
        {{ canonical_text('phone') }} as phone,
        {{ canonical_text('job_title') }} as job_title,
        customer_account
    from mapped
)

select * from final
