-- F&O sales quotation headers in the canonical vocabulary
with headers as (
    select * from {{ ref('stg_erp__cds_sales_quotation_headers') }}
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
        'quote' as entity,
        'erp' as side,
        'CDSSalesQuotationHeaders' as entity_set,
        {{ json_key("'dataAreaId'", 'company', "'SalesQuotationNumber'", 'quote_number') }} as source_id,
        company || '|' || quote_number as record_key,
        quote_number as natural_key,
        company,
        company || '|' || customer_account as parent_key,
        {{ json_key("'dataAreaId'", 'company', "'SalesQuotationNumber'", 'quote_number') }} as target_key,
        {{ json_key("'quotenumber'", 'quote_number') }} as counterpart_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        true as is_active,
        true as is_primary,
        case
            when quote_number is null then 'missing_key'
            when mapped_company is null then 'unmapped_company'
            when currency_code is not null and known_currency is null then 'unmapped_currency'
        end as reason,
        case
            when mapped_company is null then 'legal entity ' || company
            when currency_code is not null and known_currency is null then 'currency ' || currency_code
        end as reason_detail,
        {{ canonical_text('quote_name') }} as name,
        {{ canonical_text('customer_account') }} as customer_account,
        {{ canonical_text('currency_code') }} as currency
    from mapped
)

select * from final
