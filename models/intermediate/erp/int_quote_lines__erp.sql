-- F&O sales quotation lines in the canonical vocabulary, keyed <quote key>|<line creation sequence number>
with lines as (
    select * from {{ ref('stg_erp__cds_sales_quotation_lines') }}
),

headers as (
    select * from {{ ref('int_quotes__erp') }}
),

unit_map as (
    select distinct erp_unit_symbol from {{ ref('unit_map') }}
),

mapped as (
    select
        lines.*,
        headers.record_key as header_key,
        headers.reason as header_reason,
        unit_map.erp_unit_symbol as known_unit
    from lines
    left join headers
        on lines.company = headers.company
        and lines.quote_number = headers.natural_key
    left join unit_map on lines.unit_symbol = unit_map.erp_unit_symbol
),

final as (
    select
        'quote_line' as entity,
        'erp' as side,
        'CDSSalesQuotationLines' as entity_set,
        {{ json_key("'dataAreaId'", 'company', "'SalesQuotationNumber'", 'quote_number', "'LineCreationSequenceNumber'", 'sequence_number') }} as source_id,
        company || '|' || quote_number || '|' || cast(sequence_number as varchar) as record_key,
        quote_number || '|' || cast(sequence_number as varchar) as natural_key,
        company,
        company || '|' || quote_number as parent_key,
        {{ json_key("'dataAreaId'", 'company', "'SalesQuotationNumber'", 'quote_number', "'LineCreationSequenceNumber'", 'sequence_number') }} as target_key,
        cast(json_object('_quoteid_value', {{ crm_ref('quotes', 'quotenumber', 'quote_number') }}, 'sequencenumber', sequence_number) as varchar) as counterpart_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        true as is_active,
        true as is_primary,
        case
            when header_key is null and header_reason is null then 'parent_missing'
            when header_reason is not null then 'parent_quarantined'
            when sequence_number is null then 'missing_key'
            when unit_symbol is not null and known_unit is null then 'unmapped_unit'
        end as reason,
        case
            when header_key is null and header_reason is null then 'quote ' || company || '|' || coalesce(quote_number, '(none)')
            when header_reason is not null then 'quote ' || company || '|' || quote_number || ' (' || header_reason || ')'
            when unit_symbol is not null and known_unit is null then 'unit ' || unit_symbol
        end as reason_detail,
        {{ canonical_text('product_number') }} as product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        {{ canonical_text('unit_symbol') }} as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount
    from mapped
)

select * from final
