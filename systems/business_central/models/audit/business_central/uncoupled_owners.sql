-- The CRM owners p2c cannot name in BC: canonical customers, quotes and orders whose owner (a CRM
-- user) is coupled to no salesperson of the record's BC company (int_bc_salespeople). Their
-- salespersonCode / salesperson is not written (never a guessed salesperson); the rest of the record
-- syncs. Couple the user by giving a BC salesperson its e-mail address or name.
with customers as (
    select * from {{ ref('customers') }}
),

quotes as (
    select * from {{ ref('quotes') }}
),

orders as (
    select * from {{ ref('orders') }}
),

coupled as (
    select * from {{ ref('int_bc_salespeople') }}
    where user_id is not null and is_unique_for_user
),

users as (
    select * from {{ ref('stg_crm__systemusers') }}
),

owned as (
    select 'customer' as entity, record_key, company, owner from customers where owner is not null
    union all
    select 'quote' as entity, record_key, company, owner from quotes where owner is not null
    union all
    select 'order' as entity, record_key, company, owner from orders where owner is not null
),

final as (
    select
        owned.entity,
        owned.record_key,
        owned.company,
        owned.owner as user_id,
        users.full_name as user_name,
        users.email as user_email,
        case
            when users.user_id is null then 'the owner is not a CRM user (a team?)'
            else 'no salesperson of the company has the user''s e-mail address or name'
        end as reason
    from owned
    left join users on owned.owner = users.user_id
    where not exists (
        select 1 from coupled
        where coupled.company = owned.company and coupled.user_id = owned.owner
    )
)

select * from final
