with source as (
    select * from {{ source('erp_raw', 'customers_v3') }}
),

final as (
    select
        lower(data_area_id) as company,
        nullif(trim(customer_account), '') as customer_account,
        party_type,
        nullif(trim(party_number), '') as party_number,
        organization_name as customer_name,
        customer_group_id,
        sales_currency_code as currency_code,
        payment_terms as payment_terms_name,
        cast(credit_limit as decimal(18, 4)) as credit_limit,
        on_hold_status,
        language_id,
        site_id,
        warehouse_id,
        is_externally_maintained = 'Yes' as is_externally_maintained,
        address_street as street,
        address_city as city,
        address_zip_code as postal_code,
        address_country_region_iso_code as country_code,
        primary_contact_email as email,
        primary_contact_phone as phone,
        primary_contact_url as website,
        odata_etag
    from source
)

select * from final
