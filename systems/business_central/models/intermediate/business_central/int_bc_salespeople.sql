-- BC salespeople coupled to CRM users, first of everything (they own customers and orders), the way
-- BC's own integration couples SALESPEOPLE: never created on either side, coupled CRM → BC by e-mail
-- (BC's email or email2 = the user's internalemailaddress), else by name (displayName = fullname),
-- case-insensitive, and only where exactly one active CRM user matches. A salesperson nobody in the
-- CRM is stays uncoupled with the reason: its customers are quarantined (unmapped_salesperson), never
-- given a guessed owner.
with salespeople as (
    select * from {{ ref('stg_bc__salespeople') }}
    where not is_deleted and salesperson_code is not null
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

users as (
    select * from {{ ref('stg_crm__systemusers') }}
    where not is_deleted and not is_disabled
),

by_email as (
    select salespeople.company_id, salespeople.salesperson_id,
           count(distinct users.user_id) as matches, min(users.user_id) as user_id
    from salespeople
    inner join users
        on lower(trim(users.email)) in (lower(salespeople.email), lower(salespeople.email2))
    group by salespeople.company_id, salespeople.salesperson_id
),

by_name as (
    select salespeople.company_id, salespeople.salesperson_id,
           count(distinct users.user_id) as matches, min(users.user_id) as user_id
    from salespeople
    inner join users on lower(trim(users.full_name)) = lower(salespeople.salesperson_name)
    group by salespeople.company_id, salespeople.salesperson_id
),

coupled as (
    select
        salespeople.*,
        companies.company,
        case
            when by_email.matches = 1 then by_email.user_id
            when by_email.matches is null and by_name.matches = 1 then by_name.user_id
        end as user_id,
        case
            when by_email.matches = 1 then 'email'
            when by_email.matches is null and by_name.matches = 1 then 'name'
        end as coupled_by,
        case
            when by_email.matches > 1 then cast(by_email.matches as varchar) || ' CRM users have its e-mail address'
            when by_email.matches is null and by_name.matches > 1 then cast(by_name.matches as varchar) || ' CRM users have its name'
            when by_email.matches is null and by_name.matches is null then 'no active CRM user has its e-mail address or name'
        end as uncoupled_reason
    from salespeople
    left join companies on salespeople.company_id = companies.company_id
    left join by_email
        on salespeople.company_id = by_email.company_id and salespeople.salesperson_id = by_email.salesperson_id
    left join by_name
        on salespeople.company_id = by_name.company_id and salespeople.salesperson_id = by_name.salesperson_id
),

final as (
    select
        company,
        company_id,
        salesperson_id,
        salesperson_code,
        salesperson_name,
        email,
        user_id,
        coupled_by,
        uncoupled_reason,
        -- a user coupled to two salespeople of one company has no single code to write to BC
        user_id is not null
            and count(*) over (partition by company_id, user_id) = 1 as is_unique_for_user
    from coupled
)

select * from final
