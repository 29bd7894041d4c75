-- CRM orders in the canonical vocabulary, keyed within their mapped legal entity
with orders as (
    select * from {{ ref('stg_crm__salesorders') }}
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

payment_terms as (
    select * from {{ ref('payment_terms_map') }}
),

order_status as (
    select * from {{ ref('order_status_map') }}
),


mapped as (
    select
        orders.*,
        companies.company,
        currencies.currency_name,
        currencies.currency_code,
        customers.natural_key as customer_account,
        customers.record_key as customer_key,
        customers.reason as customer_reason,
        payment_terms.erp_payment_terms_name,
        order_status.erp_processing_status,
        count(*) over (partition by companies.company, orders.order_number, orders.is_deleted) as key_count
    from orders
    left join companies on orders.business_unit_id = companies.business_unit_id
    left join currencies on orders.currency_id = currencies.currency_id
    left join customers on orders.customer_id = customers.source_id
    left join payment_terms on orders.payment_terms_code = payment_terms.crm_payment_terms_code
    left join order_status on orders.processing_status = order_status.crm_processing_status
),

final as (
    select
        'order' as entity,
        'crm' as side,
        'salesorders' as entity_set,
        order_id as source_id,
        company || '|' || order_number as record_key,
        order_number as natural_key,
        company,
        customer_key as parent_key,
        {{ json_key("'salesorderid'", 'order_id') }} as target_key,
        {{ json_key("'dataAreaId'", 'company', "'SalesOrderNumber'", 'order_number') }} as counterpart_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(state_code, 0) <> 2 as is_active,
        true as is_primary,
        case
            when order_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when company is null then 'unmapped_company'
            when currency_id is not null and currency_code is null then 'unmapped_currency'
            when payment_terms_code is not null and erp_payment_terms_name is null then 'unmapped_payment_terms'
            when customer_key is null and customer_reason is null then 'parent_missing'
            when customer_reason is not null then 'parent_quarantined'
        end as reason,
        case
            when company is null then 'business unit ' || coalesce(business_unit_id, '(none)')
            when currency_id is not null and currency_code is null then 'currency ' || coalesce(currency_name, currency_id)
            when payment_terms_code is not null and erp_payment_terms_name is null then 'payment terms code ' || cast(payment_terms_code as varchar)
            when customer_key is null and customer_reason is null then 'customer ' || coalesce(customer_id, '(none)')
            when customer_reason is not null then 'customer ' || customer_id || ' (' || customer_reason || ')'
        end as reason_detail,
        {{ canonical_text('order_name') }} as name,
        customer_account,
        currency_code as currency,
        erp_payment_terms_name as payment_terms,
        erp_processing_status as processing_status,
        {{ canonical_text('total_amount', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax', 'decimal') }} as total_tax,
        {{ canonical_text('coalesce(freight_amount, 0)', 'decimal') }} as total_charges,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as total_discount
    from mapped
)

select * from final
