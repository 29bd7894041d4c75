-- BC sales quote lines (no timestamp: read through their changed headers).
with source as (
    select * from {{ source('business_central', 'sales_quote_lines') }}
),

final as (
    select
        company_id,
        id as line_id,
        document_id,
        cast(sequence as bigint) as sequence,
        {{ bc_guid('item_id') }} as item_id,
        {{ bc_text('line_type') }} as line_type,
        {{ bc_text('line_object_number') }} as line_object_number,
        {{ bc_text('description') }} as description,
        {{ bc_text('unit_of_measure_code') }} as unit_code,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(quantity as decimal(18, 4)) as quantity,
        cast(discount_amount as decimal(18, 4)) as discount_amount,
        cast(discount_percent as decimal(18, 4)) as discount_percent,
        cast(amount_excluding_tax as decimal(18, 4)) as amount_excluding_tax,
        cast(total_tax_amount as decimal(18, 4)) as total_tax_amount,
        cast(amount_including_tax as decimal(18, 4)) as amount_including_tax,
        coalesce(_p2c_deleted, false) as is_deleted,
        odata_etag,
        _dlt_load_id
    from source
)

select * from final
