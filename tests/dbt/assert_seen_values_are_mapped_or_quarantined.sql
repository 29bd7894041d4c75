-- Every currency, unit, country and payment terms value the data uses is either in its value map
-- or the row using it is in quarantine with that map's reason: returns the values that are neither.
with accounts as (
    select * from {{ ref('stg_crm__accounts') }} where not is_deleted
),

quarantine as (
    select * from {{ ref('quarantine') }}
),

currencies as (
    select * from {{ ref('int_crm_currencies') }}
),

seen as (
    select 'currency' as value_map, currencies.currency_name as value, accounts.account_id as source_id, 'unmapped_currency' as reason
    from accounts inner join currencies on accounts.currency_id = currencies.currency_id
    where currencies.currency_code is null
    union all
    select 'country', accounts.country_name, accounts.account_id, 'unmapped_country'
    from accounts
    where accounts.country_name is not null
        and accounts.country_name not in (select crm_country_name from {{ ref('country_map') }})
    union all
    select 'payment_terms', cast(accounts.payment_terms_code as varchar), accounts.account_id, 'unmapped_payment_terms'
    from accounts
    where accounts.payment_terms_code is not null
        and accounts.payment_terms_code not in (select crm_payment_terms_code from {{ ref('payment_terms_map') }})
    union all
    select 'unit', products.unit, products.source_id, 'unmapped_unit'
    from {{ ref('int_products__erp') }} as products
    where products.unit not in (select erp_unit_symbol from {{ ref('unit_map') }})
),

final as (
    select seen.*
    from seen
    where not exists (
        -- reported: in quarantine (with this reason, or an earlier one that already stopped the row)
        select 1 from quarantine
        where quarantine.source_id = seen.source_id
    )
)

select * from final
