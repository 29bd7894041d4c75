with source as (
    select * from {{ source('erp_raw', 'legal_entities') }}
),

final as (
    select
        lower(legal_entity_id) as company,
        {{ erp_text('name') }} as legal_entity_name,
        {{ erp_text('accounting_currency') }} as accounting_currency,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
