-- CRM invoices (copies of F&O invoices) in the canonical vocabulary. Their legal entity is the
-- owning business unit's, else their order's, else their customer's: p2c creates them as its
-- application user, whose business unit need not be a company's
with invoices as (
    select * from {{ ref('stg_crm__invoices') }}
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

orders as (
    select * from {{ ref('int_orders__crm') }}
),


mapped as (
    select
        invoices.*,
        coalesce(companies.company, orders.company, customers.company) as company,
        companies.business_unit_name,
        currencies.currency_name,
        currencies.currency_code,
        customers.natural_key as customer_account,
        orders.natural_key as order_number,
        count(*) over (
            partition by coalesce(companies.company, orders.company, customers.company), invoices.invoice_number, invoices.is_deleted
        ) as key_count
    from invoices
    left join companies on invoices.business_unit_id = companies.business_unit_id
    left join currencies on invoices.currency_id = currencies.currency_id
    left join customers on invoices.customer_id = customers.source_id
    left join orders on invoices.order_id = orders.source_id
),

final as (
    select
        'invoice' as entity,
        'crm' as side,
        'invoices' as entity_set,
        invoice_id as source_id,
        company || '|' || invoice_number as record_key,
        invoice_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        company || '|' || customer_account as parent_key,
        {{ json_key("'invoiceid'", 'invoice_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(state_code, 0) <> 3 as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when invoice_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when company is null then 'unmapped_company'
            when currency_id is not null and currency_code is null then 'unmapped_currency'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then {{ business_unit_detail('business_unit_name', 'business_unit_id') }}
            when currency_id is not null and currency_code is null then 'currency ' || coalesce(currency_name, currency_id)
        end as reason_detail,
        {{ canonical_text('customer_account') }} as customer_account,
        {{ canonical_text('order_number') }} as order_number,
        currency_code as currency,
        cast(invoice_date as varchar) as invoice_date,
        {{ canonical_text('total_amount', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax', 'decimal') }} as total_tax,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as total_discount,
        {{ canonical_text('coalesce(freight_amount, 0)', 'decimal') }} as total_charges
    from mapped
)

select * from final
