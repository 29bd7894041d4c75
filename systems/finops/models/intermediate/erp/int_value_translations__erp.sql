-- F&O's own value maps for int_value_translations: a customer account -> its party number (a
-- contact person's AssociatedPartyNumber), per legal entity
with customer_party as (
    select 'customer_party' as value_map, company, customer_account as canonical_value,
           customer_account as crm_value, party_number as erp_value
    from {{ ref('stg_erp__customers_v3') }}
    where customer_account is not null and party_number is not null
)

select * from customer_party
