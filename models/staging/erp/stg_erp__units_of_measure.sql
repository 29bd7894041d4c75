with source as (
    select * from {{ source('erp_raw', 'units_of_measure') }}
),

final as (
    select
        unit_symbol,
        unit_description,
        unit_class,
        decimal_precision,
        is_base_unit = 'Yes' as is_base_unit,
        odata_etag
    from source
)

select * from final
