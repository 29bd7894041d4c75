with source as (
    select * from {{ source('erp_raw', 'customer_groups') }}
),

final as (
    select
        lower(data_area_id) as company,
        customer_group_id,
        {{ erp_text('description') }} as description,
        {{ erp_text('payment_term_id') }} as payment_terms_name,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
