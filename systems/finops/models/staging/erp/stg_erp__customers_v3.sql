with source as (
    select * from {{ source('erp_raw', 'customers_v3') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(customer_account), '') as customer_account,
        {{ erp_text('party_type') }} as party_type,
        nullif(trim(party_number), '') as party_number,
        {{ erp_text('organization_name') }} as customer_name,
        {{ erp_text('customer_group_id') }} as customer_group_id,
        {{ erp_text('sales_currency_code') }} as currency_code,
        {{ erp_text('payment_terms') }} as payment_terms_name,
        cast(credit_limit as decimal(18, 4)) as credit_limit,
        {{ erp_text('on_hold_status') }} as on_hold_status,
        {{ erp_text('language_id') }} as language_id,
        {{ erp_text('site_id') }} as site_id,
        {{ erp_text('warehouse_id') }} as warehouse_id,
        is_externally_maintained = 'Yes' as is_externally_maintained,
        {{ erp_text('address_street') }} as street,
        {{ erp_text('address_city') }} as city,
        {{ erp_text('address_zip_code') }} as postal_code,
        {{ erp_text('address_country_region_iso_code') }} as country_code,
        {{ erp_text('primary_contact_email') }} as email,
        {{ erp_text('primary_contact_phone') }} as phone,
        {{ erp_text('primary_contact_url') }} as website,
        _p2c_invalid as invalid_values,
        odata_etag
    from source
)

select * from final
