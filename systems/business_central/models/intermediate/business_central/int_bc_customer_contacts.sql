-- Each BC customer's company contact (type Company, business relation Customer): BC links a person
-- to its company contact (companyNumber), not to the customer, and the API shows no link from the
-- company contact to its customer; they pair by company, name and post code, where that is unique.
with contacts as (
    select * from {{ ref('stg_bc__contacts') }}
    where contact_type = 'Company' and not is_deleted
),

customers as (
    select * from {{ ref('stg_bc__customers') }}
    where not is_deleted
),

pairs as (
    select
        contacts.company_id,
        contacts.contact_number,
        min(customers.customer_number) as customer_number,
        count(*) as candidates
    from contacts
    inner join customers
        on contacts.company_id = customers.company_id
        and contacts.contact_name = customers.customer_name
        and coalesce(contacts.postal_code, '') = coalesce(customers.postal_code, '')
    group by contacts.company_id, contacts.contact_number
),

final as (
    select company_id, contact_number, customer_number
    from pairs
    where candidates = 1
)

select * from final
