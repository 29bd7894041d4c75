-- CRM contacts in the canonical vocabulary, with their parent account and unmappable reason
with contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

companies as (
    select * from {{ ref('int_companies') }}
),

accounts as (
    select * from {{ ref('int_customers__crm') }}
),

mapped as (
    select
        contacts.*,
        companies.company,
        companies.business_unit_name,
        accounts.natural_key as customer_account,
        accounts.record_key as customer_key,
        accounts.reason as customer_reason,
        count(*) over (partition by companies.company, contacts.contact_number, contacts.is_deleted) as key_count
    from contacts
    left join companies on contacts.business_unit_id = companies.business_unit_id
    left join accounts on contacts.parent_customer_id = accounts.source_id
),

final as (
    select
        'contact' as entity,
        'crm' as side,
        'contacts' as entity_set,
        contact_id as source_id,
        company || '|' || contact_number as record_key,
        contact_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        customer_key as parent_key,
        {{ json_key("'contactid'", 'contact_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(state_code, 0) = 0 as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when contact_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when company is null then 'unmapped_company'
            when parent_customer_id is not null and customer_key is null and customer_reason is null then 'parent_missing'
            when customer_reason is not null then 'parent_quarantined'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then {{ business_unit_detail('business_unit_name', 'business_unit_id') }}
            when parent_customer_id is not null and customer_key is null and customer_reason is null then 'account ' || parent_customer_id
            when customer_reason is not null then 'account ' || parent_customer_id || ' (' || customer_reason || ')'
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
