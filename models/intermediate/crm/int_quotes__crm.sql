-- CRM quotes in the canonical vocabulary, keyed within their mapped legal entity
with quotes as (
    select * from {{ ref('stg_crm__quotes') }}
),

companies as (
    select * from {{ ref('int_companies') }}
),

currencies as (
    select * from {{ ref('int_crm_currencies') }}
),

customers as (
    select * from {{ ref('int_customers__crm') }}
),

mapped as (
    select
        quotes.*,
        companies.company,
        currencies.currency_name,
        currencies.currency_code,
        customers.natural_key as customer_account,
        customers.record_key as customer_key,
        customers.reason as customer_reason,
        count(*) over (partition by companies.company, quotes.quote_number, quotes.is_deleted) as key_count
    from quotes
    left join companies on quotes.business_unit_id = companies.business_unit_id
    left join currencies on quotes.currency_id = currencies.currency_id
    left join customers on quotes.customer_id = customers.source_id
),

final as (
    select
        'quote' as entity,
        'crm' as side,
        'quotes' as entity_set,
        quote_id as source_id,
        company || '|' || quote_number as record_key,
        quote_number as natural_key,
        company,
        customer_key as parent_key,
        {{ json_key("'quoteid'", 'quote_id') }} as target_key,
        {{ json_key("'dataAreaId'", 'company', "'SalesQuotationNumber'", 'quote_number') }} as counterpart_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(state_code, 0) <> 2 as is_active,
        true as is_primary,
        case
            when quote_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when company is null then 'unmapped_company'
            when currency_id is not null and currency_code is null then 'unmapped_currency'
            when customer_key is null and customer_reason is null then 'parent_missing'
            when customer_reason is not null then 'parent_quarantined'
        end as reason,
        case
            when company is null then 'business unit ' || coalesce(business_unit_id, '(none)')
            when currency_id is not null and currency_code is null then 'currency ' || coalesce(currency_name, currency_id)
            when customer_key is null and customer_reason is null then 'customer ' || coalesce(customer_id, '(none)')
            when customer_reason is not null then 'customer ' || customer_id || ' (' || customer_reason || ')'
        end as reason_detail,
        {{ canonical_text('quote_name') }} as name,
        customer_account,
        currency_code as currency
    from mapped
)

select * from final
