with source as (
    select * from {{ source('erp_raw', 'payment_terms') }}
),

final as (
    select
        lower(data_area_id) as company,
        name as payment_terms_name,
        {{ erp_text('description') }} as description,
        number_of_days,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
