with source as (
    select * from {{ source('erp_raw', 'units_of_measure') }}
),

final as (
    select
        unit_symbol,
        {{ erp_text('unit_description') }} as unit_description,
        {{ erp_text('unit_class') }} as unit_class,
        decimal_precision,
        is_base_unit = 'Yes' as is_base_unit,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
