-- The CRM owners p2c cannot name in BC: canonical customers whose owner (a CRM user) is coupled to no
-- salesperson of the customer's BC company (int_bc_salespeople). Their salespersonCode is not written
-- (never a guessed salesperson); the rest of the record syncs. Couple the user by giving a BC
-- salesperson its e-mail address or name.
with customers as (
    select * from {{ ref('customers') }}
    where owner is not null
),

coupled as (
    select * from {{ ref('int_bc_salespeople') }}
    where user_id is not null and is_unique_for_user
),

users as (
    select * from {{ ref('stg_crm__systemusers') }}
),

final as (
    select
        'customer' as entity,
        customers.record_key,
        customers.company,
        customers.owner as user_id,
        users.full_name as user_name,
        users.email as user_email,
        case
            when users.user_id is null then 'the owner is not a CRM user (a team?)'
            else 'no salesperson of the company has the user''s e-mail address or name'
        end as reason
    from customers
    left join users on customers.owner = users.user_id
    where not exists (
        select 1 from coupled
        where coupled.company = customers.company and coupled.user_id = customers.owner
    )
)

select * from final
