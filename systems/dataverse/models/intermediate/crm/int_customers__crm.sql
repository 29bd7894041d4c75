-- CRM accounts in the canonical vocabulary, keyed within their mapped legal entity, with the
-- reason they cannot be mapped (null when they can)
with accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

companies as (
    select * from {{ ref('int_companies') }}
),

currencies as (
    select * from {{ ref('int_crm_currencies') }}
),

countries as (
    select * from {{ ref('country_map') }}
),

payment_terms as (
    select * from {{ ref('payment_terms_map') }}
),

mapped as (
    select
        accounts.*,
        companies.company,
        companies.business_unit_name,
        currencies.currency_name,
        currencies.currency_code,
        countries.iso_country_code,
        payment_terms.erp_payment_terms_name,
        count(*) over (partition by companies.company, accounts.account_number, accounts.is_deleted) as key_count
    from accounts
    left join companies on accounts.business_unit_id = companies.business_unit_id
    left join currencies on accounts.currency_id = currencies.currency_id
    left join countries on accounts.country_name = countries.crm_country_name
    left join payment_terms on accounts.payment_terms_code = payment_terms.crm_payment_terms_code
),

final as (
    select
        'customer' as entity,
        'crm' as side,
        'accounts' as entity_set,
        account_id as source_id,
        company || '|' || account_number as record_key,
        account_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        cast(null as varchar) as parent_key,
        {{ json_key("'accountid'", 'account_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(state_code, 0) = 0 as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when account_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when company is null then 'unmapped_company'
            when currency_id is not null and currency_code is null then 'unmapped_currency'
            when country_name is not null and iso_country_code is null then 'unmapped_country'
            when payment_terms_code is not null and erp_payment_terms_name is null then 'unmapped_payment_terms'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then {{ business_unit_detail('business_unit_name', 'business_unit_id') }}
            when currency_id is not null and currency_code is null then 'currency ' || coalesce(currency_name, currency_id)
            when country_name is not null and iso_country_code is null then 'country ' || country_name
            when payment_terms_code is not null and erp_payment_terms_name is null then 'payment terms code ' || cast(payment_terms_code as varchar)
        end as reason_detail,
        {{ canonical_text('account_name') }} as name,
        {{ canonical_text('email') }} as email,
        {{ canonical_text('phone') }} as phone,
        {{ canonical_text('website') }} as website,
        {{ canonical_text('street') }} as street,
        {{ canonical_text('city') }} as city,
        {{ canonical_text('postal_code') }} as postal_code,
        iso_country_code as country,
        currency_code as currency,
        erp_payment_terms_name as payment_terms,
        {{ canonical_text('credit_limit', 'decimal') }} as credit_limit,
        {{ canonical_text('customer_group_id') }} as customer_group,
        {{ canonical_text('on_hold_status') }} as on_hold_status,
        {{ canonical_text('owner_id') }} as owner
    from mapped
)

select * from final
