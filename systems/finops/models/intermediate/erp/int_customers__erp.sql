-- F&O customers (CustomersV3) in the canonical vocabulary, with the reason they cannot be mapped
with customers as (
    select * from {{ ref('stg_erp__customers_v3') }}
),

company_map as (
    select * from {{ ref('company_map') }}
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

mapped as (
    select
        customers.*,
        company_map.company as mapped_company,
        currency_map.erp_currency_code as known_currency,
        countries.iso_country_code as known_country,
        payment_terms.erp_payment_terms_name as known_payment_terms
    from customers
    left join company_map on customers.company = company_map.company
    left join currency_map on customers.currency_code = currency_map.erp_currency_code
    left join countries on customers.country_code = countries.iso_country_code
    left join payment_terms on customers.payment_terms_name = payment_terms.erp_payment_terms_name
),

final as (
    select
        'customer' as entity,
        'erp' as side,
        'CustomersV3' as entity_set,
        {{ finops_key('customer', 'company', 'customer_account') }} as source_id,
        company || '|' || customer_account as record_key,
        customer_account as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        cast(null as varchar) as parent_key,
        {{ finops_key('customer', 'company', 'customer_account') }} as target_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        coalesce(on_hold_status, 'No') <> 'All' as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when customer_account is null then 'missing_key'
            when mapped_company is null then 'unmapped_company'
            when currency_code is not null and known_currency is null then 'unmapped_currency'
            when country_code is not null and known_country is null then 'unmapped_country'
            when payment_terms_name is not null and known_payment_terms is null then 'unmapped_payment_terms'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when mapped_company is null then 'legal entity ' || company
            when currency_code is not null and known_currency is null then 'currency ' || currency_code
            when country_code is not null and known_country is null then 'country ' || country_code
            when payment_terms_name is not null and known_payment_terms is null then 'payment terms ' || payment_terms_name
        end as reason_detail,
        {{ canonical_text('customer_name') }} as name,
        {{ canonical_text('email') }} as email,
        {{ canonical_text('phone') }} as phone,
        {{ canonical_text('website') }} as website,
        {{ canonical_text('street') }} as street,
        {{ canonical_text('city') }} as city,
        {{ canonical_text('postal_code') }} as postal_code,
        {{ canonical_text('country_code') }} as country,
        {{ canonical_text('currency_code') }} as currency,
        {{ canonical_text('payment_terms_name') }} as payment_terms,
        {{ canonical_text('credit_limit', 'decimal') }} as credit_limit,
        {{ canonical_text('customer_group_id') }} as customer_group,
        {{ canonical_text('on_hold_status') }} as on_hold_status,
        cast(null as varchar) as owner
    from mapped
)

select * from final
