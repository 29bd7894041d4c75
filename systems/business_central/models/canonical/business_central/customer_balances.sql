-- BC → CRM: what BC's own integration sends to the account besides the canonical customer fields:
-- the balance due (BC computes it from open posted invoices), with the credit limit and blocked
-- option the canonical customer carries (credit_limit, on_hold_status), per canonical customer.
with customers as (
    select * from {{ ref('stg_bc__customers') }}
    where not is_deleted
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

canonical_customers as (
    select * from {{ ref('customers') }}
),

final as (
    select
        companies.company || '|' || customers.customer_number as record_key,
        companies.company,
        customers.customer_number,
        customers.balance_due,
        customers.credit_limit,
        coalesce(customers.blocked, 'No') as blocked,
        canonical_customers.record_key is not null as is_canonical_customer
    from customers
    inner join companies on customers.company_id = companies.company_id
    left join canonical_customers
        on companies.company || '|' || customers.customer_number = canonical_customers.record_key
    where companies.company is not null and customers.customer_number is not null
)

select * from final
