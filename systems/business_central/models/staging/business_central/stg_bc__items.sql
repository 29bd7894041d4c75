-- BC items per company (price, cost, base unit, inventory on hand).
with source as (
    select * from {{ source('business_central', 'items') }}
),

final as (
    select
        company_id,
        id as item_id,
        {{ bc_text('number') }} as item_number,
        {{ bc_text('display_name') }} as item_name,
        {{ bc_text('type') }} as item_type,
        {{ bc_text('item_category_code') }} as item_category_code,
        coalesce(blocked, false) as is_blocked,
        {{ bc_text('gtin') }} as gtin,
        cast(inventory as decimal(18, 4)) as inventory,
        cast(unit_price as decimal(18, 4)) as unit_price,
        price_includes_tax,
        cast(unit_cost as decimal(18, 4)) as unit_cost,
        {{ bc_text('base_unit_of_measure_code') }} as unit_code,
        last_modified_date_time as modified_at,
        {{ bc_tracking_columns() }}
    from source
)

select * from final
