-- CRM invoice lines in the canonical vocabulary, keyed <invoice key>|<sequence number>
with lines as (
    select * from {{ ref('stg_crm__invoicedetails') }}
),

headers as (
    select * from {{ ref('int_invoices__crm') }}
),

products as (
    select * from {{ ref('int_products__crm') }}
),

units as (
    select * from {{ ref('int_crm_units') }}
),

mapped as (
    select
        lines.*,
        headers.record_key as header_key,
        headers.natural_key as header_number,
        headers.company,
        headers.reason as header_reason,
        products.natural_key as product_number,
        units.unit_name,
        units.unit_symbol,
        count(*) over (partition by lines.invoice_id, lines.sequence_number, lines.is_deleted) as key_count
    from lines
    left join headers on lines.invoice_id = headers.source_id
    left join products on lines.product_id = products.source_id
    left join units on lines.unit_id = units.unit_id
),

final as (
    select
        'invoice_line' as entity,
        'crm' as side,
        'invoicedetails' as entity_set,
        line_id as source_id,
        header_key || '|' || cast(sequence_number as varchar) as record_key,
        header_number || '|' || cast(sequence_number as varchar) as natural_key,
        company,
        header_key as parent_key,
        {{ json_key("'invoicedetailid'", 'line_id') }} as target_key,
        {{ json_key("'dataAreaId'", 'company', "'InvoiceNumber'", 'header_number', "'LineCreationSequenceNumber'", 'sequence_number') }} as counterpart_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        true as is_active,
        true as is_primary,
        case
            when header_key is null and header_reason is null then 'parent_missing'
            when header_reason is not null then 'parent_quarantined'
            when sequence_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when is_write_in or product_id is null then 'write_in_product'
            when unit_id is not null and unit_symbol is null then 'unmapped_unit'
        end as reason,
        case
            when header_key is null and header_reason is null then 'invoice ' || coalesce(invoice_id, '(none)')
            when header_reason is not null then 'invoice ' || invoice_id || ' (' || header_reason || ')'
            when is_write_in or product_id is null then 'write-in product ' || coalesce(product_description, '(no description)')
            when unit_id is not null and unit_symbol is null then 'unit ' || coalesce(unit_name, unit_id)
        end as reason_detail,
        product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        unit_symbol as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount,
        {{ canonical_text('tax_amount', 'decimal') }} as tax_amount
    from mapped
)

select * from final
