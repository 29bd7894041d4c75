-- Canonical value -> each system's spelling, for every value map the writeback needs, in one
-- long table: (value_map, company, canonical_value, crm_value, erp_value). Company is set only
-- where the translation is per legal entity (a customer's party number). The ERP's own maps come
-- from its home (int_value_translations__erp).
with country as (
    select 'country' as value_map, cast(null as varchar) as company,
           iso_country_code as canonical_value, crm_country_name as crm_value, iso_country_code as erp_value
    from {{ ref('country_map') }}
),

payment_terms as (
    select 'payment_terms', null, erp_payment_terms_name,
           cast(crm_payment_terms_code as varchar), erp_payment_terms_name
    from {{ ref('payment_terms_map') }}
),

order_status as (
    select 'order_status', null, erp_processing_status, crm_processing_status, erp_processing_status
    from {{ ref('order_status_map') }}
),

unit_id as (
    -- the CRM has no alternate key on units: lookups bind the unit's GUID
    select 'unit_id', null, unit_symbol, min(unit_id), unit_symbol
    from {{ ref('int_crm_units') }}
    where unit_symbol is not null
    group by unit_symbol
),

crm_order as (
    -- an invoice binds its CRM order only where the CRM has that order
    select 'crm_order', company, natural_key, natural_key, natural_key
    from {{ ref('int_orders__crm') }}
    where reason is null and not is_deleted
),

erp as (
    -- the translations only the ERP playing the role needs, from its home
    -- (systems/<system>/models/intermediate/<folder>/int_value_translations__erp.sql)
    select * from {{ ref('int_value_translations__erp') }}
),

final as (
    select * from country
    union all select * from payment_terms
    union all select * from order_status
    union all select * from unit_id
    union all select * from crm_order
    union all select * from erp
)

select * from final
