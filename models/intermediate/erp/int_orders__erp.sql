-- F&O sales order headers (CDSSalesOrderHeaders) in the canonical vocabulary
with headers as (
    select * from {{ ref('stg_erp__cds_sales_order_headers') }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

currency_map as (
    select * from {{ ref('currency_map') }}
),

mapped as (
    select
        headers.*,
        company_map.company as mapped_company,
        currency_map.erp_currency_code as known_currency
    from headers
    left join company_map on headers.company = company_map.company
    left join currency_map on headers.currency_code = currency_map.erp_currency_code
),

final as (
    select
        'order' as entity,
        'erp' as side,
        'CDSSalesOrderHeaders' as entity_set,
        {{ json_key("'dataAreaId'", 'company', "'SalesOrderNumber'", 'order_number') }} as source_id,
        company || '|' || order_number as record_key,
        order_number as natural_key,
        company,
        company || '|' || customer_account as parent_key,
        {{ json_key("'dataAreaId'", 'company', "'SalesOrderNumber'", 'order_number') }} as target_key,
        {{ json_key("'ordernumber'", 'order_number') }} as counterpart_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        true as is_active,
        true as is_primary,
        case
            when order_number is null then 'missing_key'
            when mapped_company is null then 'unmapped_company'
            when currency_code is not null and known_currency is null then 'unmapped_currency'
        end as reason,
        case
            when mapped_company is null then 'legal entity ' || company
            when currency_code is not null and known_currency is null then 'currency ' || currency_code
        end as reason_detail,
        {{ canonical_text('order_name') }} as name,
        {{ canonical_text('customer_account') }} as customer_account,
        {{ canonical_text('currency_code') }} as currency,
        {{ canonical_text('payment_terms_name') }} as payment_terms,
        {{ canonical_text('processing_status') }} as processing_status,
        {{ canonical_text('total_amount', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax', 'decimal') }} as total_tax,
        {{ canonical_text('coalesce(total_charges, 0)', 'decimal') }} as total_charges,
        {{ canonical_text('coalesce(total_discount, 0)', 'decimal') }} as total_discount
    from mapped
)

select * from final
