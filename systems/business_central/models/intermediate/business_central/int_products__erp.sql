-- BC items as canonical products (items are per company; a product's canonical attributes come from
-- the first company of the company map that has it: is_primary). A blocked item is inactive. The
-- quantity on hand is the item's inventory summed over the mapped companies (every row carries it).
with items as (
    select * from {{ ref('stg_bc__items') }}
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

unit_map as (
    select distinct erp_unit_symbol from {{ ref('unit_map') }}
),

mapped as (
    select
        items.*,
        companies.company,
        unit_map.erp_unit_symbol as known_unit,
        sum(case when companies.company is not null and not items.is_deleted then items.inventory end)
            over (partition by items.item_number) as quantity_on_hand,
        row_number() over (
            partition by items.item_number
            order by companies.company_rank nulls last, companies.company, items.company_id
        ) as release_rank
    from items
    left join companies on items.company_id = companies.company_id
    left join unit_map on items.unit_code = unit_map.erp_unit_symbol
),

final as (
    select
        'product' as entity,
        'erp' as side,
        'items' as entity_set,
        {{ business_central_key('company_id', 'item_id') }} as source_id,
        item_number as record_key,
        item_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        cast(null as varchar) as parent_key,
        {{ business_central_key('company_id', 'item_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        not is_blocked as is_active,
        release_rank = 1 as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when item_number is null then 'missing_key'
            when company is null then 'unmapped_company'
            when unit_code is not null and known_unit is null then 'unmapped_unit'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then 'BC company ' || company_id
            when unit_code is not null and known_unit is null then 'unit ' || unit_code
        end as reason_detail,
        {{ canonical_text('item_name') }} as name,
        {{ canonical_text('unit_code') }} as unit,
        {{ canonical_text('unit_cost', 'decimal') }} as standard_cost,
        {{ canonical_text('quantity_on_hand', 'decimal') }} as quantity_on_hand
    from mapped
)

select * from final
