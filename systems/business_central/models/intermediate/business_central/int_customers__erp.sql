-- BC customers in the canonical vocabulary, with the reason they cannot be mapped. Blank currency =
-- the company's local currency; payment terms by their BC code (through paymentTermsId); BC's
-- blocked option is the on-hold status through seeds/business_central/blocked_map.csv (All = inactive);
-- the salesperson is the owner through its coupling to a CRM user (int_bc_salespeople): a salesperson
-- coupled to nobody puts the customer in quarantine, never a guessed owner; no customer group in BC's API.
with customers as (
    select * from {{ ref('stg_bc__customers') }}
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

terms as (
    select * from {{ ref('stg_bc__payment_terms') }}
),

currency_map as (
    select * from {{ ref('currency_map') }}
),

countries as (
    select * from {{ ref('country_map') }}
),

payment_terms as (
    select * from {{ ref('payment_terms_map') }}
),

blocked_map as (
    select * from {{ ref('blocked_map') }}
),

salespeople as (
    select * from {{ ref('int_bc_salespeople') }}
),

mapped as (
    select
        customers.*,
        companies.company,
        coalesce(customers.currency_code, companies.accounting_currency) as currency,
        terms.payment_terms_code,
        currency_map.erp_currency_code as known_currency,
        countries.iso_country_code as known_country,
        payment_terms.erp_payment_terms_name as known_payment_terms,
        blocked_map.on_hold_status,
        salespeople.salesperson_code as known_salesperson,
        salespeople.user_id as owner_id,
        salespeople.uncoupled_reason as salesperson_reason
    from customers
    left join companies on customers.company_id = companies.company_id
    left join terms on customers.company_id = terms.company_id and customers.payment_terms_id = terms.payment_terms_id
    left join currency_map on coalesce(customers.currency_code, companies.accounting_currency) = currency_map.erp_currency_code
    left join countries on customers.country_code = countries.iso_country_code
    left join payment_terms on terms.payment_terms_code = payment_terms.erp_payment_terms_name
    -- a blank option (' ', null in staging) is the map's row with no erp_blocked
    left join blocked_map on customers.blocked is not distinct from blocked_map.erp_blocked
    left join salespeople
        on customers.company_id = salespeople.company_id and customers.salesperson_code = salespeople.salesperson_code
),

final as (
    select
        'customer' as entity,
        'erp' as side,
        'customers' as entity_set,
        {{ business_central_key('company_id', 'customer_id') }} as source_id,
        company || '|' || customer_number as record_key,
        customer_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        cast(null as varchar) as parent_key,
        {{ business_central_key('company_id', 'customer_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(blocked, '') <> 'All' as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when customer_number is null then 'missing_key'
            when company is null then 'unmapped_company'
            when currency is not null and known_currency is null then 'unmapped_currency'
            when country_code is not null and known_country is null then 'unmapped_country'
            when payment_terms_code is not null and known_payment_terms is null then 'unmapped_payment_terms'
            when salesperson_code is not null and owner_id is null then 'unmapped_salesperson'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then 'BC company ' || company_id
            when currency is not null and known_currency is null then 'currency ' || currency
            when country_code is not null and known_country is null then 'country ' || country_code
            when payment_terms_code is not null and known_payment_terms is null then 'payment terms ' || payment_terms_code
            when salesperson_code is not null and owner_id is null then 'salesperson ' || salesperson_code || ' ('
                || coalesce(salesperson_reason, 'not among BC''s salespeople') || ')'
        end as reason_detail,
        {{ canonical_text('customer_name') }} as name,
        {{ canonical_text('email') }} as email,
        {{ canonical_text('phone') }} as phone,
        {{ canonical_text('website') }} as website,
        {{ canonical_text('street') }} as street,
        {{ canonical_text('city') }} as city,
        {{ canonical_text('postal_code') }} as postal_code,
        {{ canonical_text('country_code') }} as country,
        {{ canonical_text('currency') }} as currency,
        {{ canonical_text('payment_terms_code') }} as payment_terms,
        {{ canonical_text('credit_limit', 'decimal') }} as credit_limit,
        cast(null as varchar) as customer_group,
        {{ canonical_text('on_hold_status') }} as on_hold_status,
        {{ canonical_text('owner_id') }} as owner
    from mapped
)

select * from final
