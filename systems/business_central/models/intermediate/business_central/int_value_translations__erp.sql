-- BC's own value maps for int_value_translations, per company: a canonical customer number -> its
-- company contact's number (a person's companyNumber) and -> BC's customer number (a document's
-- customerNumber): the two differ where the customer was coupled by a match rule (int_records), a currency -> BC's currencyCode (blank for the
-- company's local currency), a payment terms code -> its paymentTermsId, the on-hold status -> BC's
-- blocked option (seeds/business_central/blocked_map.csv; No = ' '), an owner (CRM user) -> the code
-- of the salesperson coupled to it in the company (int_bc_salespeople; none: not written)
with customer_keys as (
    -- BC's customer number under its canonical key (the CRM's number where a match rule coupled them)
    select company, natural_key as customer_number, {{ key_number('record_key') }} as canonical_number
    from {{ ref('int_records') }}
    where entity = 'customer' and side = 'erp' and reason is null and company is not null
),

customer_party as (
    select 'customer_party' as value_map, companies.company,
           coalesce(customer_keys.canonical_number, customer_contacts.customer_number) as canonical_value,
           coalesce(customer_keys.canonical_number, customer_contacts.customer_number) as crm_value,
           customer_contacts.contact_number as erp_value
    from {{ ref('int_bc_customer_contacts') }} as customer_contacts
    inner join {{ ref('int_bc_companies') }} as companies on customer_contacts.company_id = companies.company_id
    left join customer_keys
        on companies.company = customer_keys.company and customer_contacts.customer_number = customer_keys.customer_number
    where companies.company is not null
),

customer_number as (
    -- every canonical customer: BC's number where BC has it, else the canonical one (p2c creates it so)
    select 'bc_customer_number', pairs.company, {{ key_number('pairs.record_key') }},
           {{ key_number('pairs.record_key') }},
           coalesce(customer_keys.customer_number, {{ key_number('pairs.record_key') }})
    from {{ ref('int_record_pairs') }} as pairs
    left join customer_keys
        on pairs.company = customer_keys.company
        and {{ key_number('pairs.record_key') }} = customer_keys.canonical_number
    where pairs.entity = 'customer' and pairs.company is not null
),

currency as (
    select 'bc_currency', company, currency_code, currency_code,
           case when is_local then '' else currency_code end
    from {{ ref('int_bc_currencies') }}
    where company is not null and currency_code is not null
),

payment_terms as (
    select 'bc_payment_terms_id', companies.company, terms.payment_terms_code, terms.payment_terms_code, terms.payment_terms_id
    from {{ ref('stg_bc__payment_terms') }} as terms
    inner join {{ ref('int_bc_companies') }} as companies on terms.company_id = companies.company_id
    where companies.company is not null and terms.payment_terms_code is not null
),

blocked as (
    select 'bc_blocked', cast(null as varchar), on_hold_status, on_hold_status, coalesce(erp_blocked, ' ')
    from {{ ref('blocked_map') }}
),

salesperson as (
    select 'bc_salesperson', company, user_id, user_id, salesperson_code
    from {{ ref('int_bc_salespeople') }}
    where company is not null and user_id is not null and is_unique_for_user
),

final as (
    select * from customer_party
    union all select * from customer_number
    union all select * from currency
    union all select * from payment_terms
    union all select * from blocked
    union all select * from salesperson
)

select * from final
