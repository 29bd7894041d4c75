-- BC → CRM, every run: item availability (items.inventory) per product and company, the column a
-- seller sees when adding a line. BC-only (F&O's released products carry no on-hand quantity), so a
-- table beside the canonical products rather than a canonical field both ERPs would have to fill.
with items as (
    select * from {{ ref('stg_bc__items') }}
    where not is_deleted
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

products as (
    select * from {{ ref('products') }}
),

final as (
    select
        items.item_number as product_number,
        companies.company,
        items.item_type,
        cast(items.inventory as decimal(18, 4)) as inventory,
        items.modified_at,
        products.record_key is not null as is_canonical_product
    from items
    inner join companies on items.company_id = companies.company_id
    left join products on items.item_number = products.record_key
    where companies.company is not null
)

select * from final
