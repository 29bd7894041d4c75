-- F&O sales invoice headers in the canonical vocabulary
with headers as (
    select * from {{ ref('stg_erp__sales_invoice_headers_v2') }}
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
        'invoice' as entity,
        'erp' as side,
        'SalesInvoiceHeadersV2' as entity_set,
        {{ json_key("'dataAreaId'", 'company', "'InvoiceNumber'", 'invoice_number', "'InvoiceDate'", 'invoiced_at', "'LedgerVoucher'", 'ledger_voucher') }} as source_id,
        company || '|' || invoice_number as record_key,
        invoice_number as natural_key,
        company,
        company || '|' || customer_account as parent_key,
        {{ json_key("'dataAreaId'", 'company', "'InvoiceNumber'", 'invoice_number', "'InvoiceDate'", 'invoiced_at', "'LedgerVoucher'", 'ledger_voucher') }} as target_key,
        {{ json_key("'invoicenumber'", 'invoice_number') }} as counterpart_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invoice_number is null then 'missing_key'
            when mapped_company is null then 'unmapped_company'
            when currency_code is not null and known_currency is null then 'unmapped_currency'
        end as reason,
        case
            when mapped_company is null then 'legal entity ' || company
            when currency_code is not null and known_currency is null then 'currency ' || currency_code
        end as reason_detail,
        {{ canonical_text('customer_account') }} as customer_account,
        {{ canonical_text('order_number') }} as order_number,
        {{ canonical_text('currency_code') }} as currency,
        cast({{ utc_date('invoiced_at') }} as varchar) as invoice_date,
        {{ canonical_text('total_amount', 'decimal') }} as total_amount,
        {{ canonical_text('total_tax', 'decimal') }} as total_tax,
        {{ canonical_text('coalesce(total_discount, 0)', 'decimal') }} as total_discount,
        {{ canonical_text('coalesce(total_charges, 0)', 'decimal') }} as total_charges
    from mapped
)

select * from final
