-- Every conflict the merge found: both values, the base, the policy applied and the outcome
-- (crm_wins, erp_wins, held, decided, initial). Held (manual, undecided) ones are open.
with merged as (
    select * from {{ ref('int_merge') }}
),

final as (
    select
        entity,
        record_key,
        field,
        crm_value,
        erp_value,
        base_value,
        owner,
        policy,
        outcome,
        is_held as is_open,
        merged_value,
        merged_from,
        crm_modified_at,
        erp_modified_at
    from merged
    where is_conflict
)

select * from final
