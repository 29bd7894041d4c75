-- Match-based coupling: the rows int_match_candidates holds (clean, uncoupled, without a
-- counterpart under their own key) are matched across the systems by the rules of
-- seeds/match_rules.csv, per entity in priority order (lowest first), within one company.
--
-- A rule's value is its fields' canonical values (trimmed; lower-cased unless case_sensitive),
-- taken only when every field of the rule has a value. Rows of both systems with the same value
-- form a group:
--   one CRM row and one ERP row  -> 'matched': the pair is coupled (int_records gives both the key
--                                    of the entity's master system)
--   more rows on either side      -> 'ambiguous': every row of the group goes to quarantine
--                                    (ambiguous_match) with the candidates listed, never guessed
--   rows on one side only         -> no match; the next rule is tried
-- A row decided by one rule (matched or ambiguous) takes no part in the later rules.
{%- set max_rules = var('match_rules_max', 5) %}

with rules as (
    select
        entity,
        priority,
        fields,
        coalesce(case_sensitive, false) as case_sensitive,
        dense_rank() over (partition by entity order by priority) as rule_rank
    from {{ ref('match_rules') }}
),

rule_fields_split as (
    select entity, priority, fields, case_sensitive, rule_rank,
           unnest(string_to_array(fields, '+')) as field
    from rules
),

rule_fields as (
    select
        entity, priority, fields, case_sensitive, rule_rank, trim(field) as field,
        count(*) over (partition by entity, rule_rank) as field_count
    from rule_fields_split
),

candidates as (
    select * from {{ ref('int_match_candidates') }}
),

rule_values as (
    select
        candidates.entity,
        candidates.side,
        candidates.source_id,
        candidates.record_key,
        coalesce(candidates.company, '') as company,
        rule_fields.rule_rank,
        rule_fields.priority,
        rule_fields.fields,
        rule_fields.field,
        rule_fields.field_count,
        case
            when rule_fields.case_sensitive then trim(candidates.value)
            else lower(trim(candidates.value))
        end as value
    from candidates
    inner join rule_fields
        on candidates.entity = rule_fields.entity
        and candidates.field = rule_fields.field
    where nullif(trim(candidates.value), '') is not null
),

keyed as (
    -- one value per row and rule, only when every field of the rule has one
    select
        entity, side, source_id, record_key, company, rule_rank, priority, fields,
        string_agg(value, chr(31) order by field nulls first) as match_value
    from rule_values
    group by entity, side, source_id, record_key, company, rule_rank, priority, fields
    having count(*) = max(field_count)
),

{%- for r in range(1, max_rules + 1) %}

open_{{ r }} as (
    select *
    from keyed
    where rule_rank = {{ r }}
    {%- if r > 1 %}
        and not exists (
            select 1 from decided_{{ r - 1 }} as done
            where done.entity = keyed.entity and done.side = keyed.side and done.source_id = keyed.source_id
        )
    {%- endif %}
),

groups_{{ r }} as (
    select
        entity, company, match_value,
        sum(case when side = 'crm' then 1 else 0 end) as crm_rows,
        sum(case when side = 'erp' then 1 else 0 end) as erp_rows
    from open_{{ r }}
    group by entity, company, match_value
),

decided_{{ r }} as (
    {%- if r > 1 %}
    select * from decided_{{ r - 1 }}
    union all
    {%- endif %}
    select
        open_{{ r }}.*,
        case when groups_{{ r }}.crm_rows = 1 and groups_{{ r }}.erp_rows = 1 then 'matched' else 'ambiguous' end as outcome
    from open_{{ r }}
    inner join groups_{{ r }}
        on open_{{ r }}.entity = groups_{{ r }}.entity
        and open_{{ r }}.company = groups_{{ r }}.company
        and open_{{ r }}.match_value = groups_{{ r }}.match_value
    where groups_{{ r }}.crm_rows >= 1 and groups_{{ r }}.erp_rows >= 1
),
{%- endfor %}

decided as (
    select * from decided_{{ max_rules }}
),

listed as (
    -- per decided row: the other system's rows with the same value, and its own system's others
    select
        decided.entity,
        decided.side,
        decided.source_id,
        string_agg(case when other.side <> decided.side then other.record_key end, ', ' order by other.record_key nulls first) as candidate_keys,
        string_agg(case when other.side = decided.side then other.record_key end, ', ' order by other.record_key nulls first) as competing_keys,
        max(case when other.side <> decided.side then other.record_key end) as counterpart_key,
        max(case when other.side <> decided.side then other.source_id end) as counterpart_source_id
    from decided
    inner join decided as other
        on decided.entity = other.entity
        and decided.rule_rank = other.rule_rank
        and decided.company = other.company
        and decided.match_value = other.match_value
        and not (decided.side = other.side and decided.source_id = other.source_id)
    group by decided.entity, decided.side, decided.source_id
),

final as (
    select
        decided.entity,
        decided.side,
        decided.source_id,
        decided.record_key,
        decided.outcome,
        decided.priority,
        decided.fields,
        case when decided.outcome = 'matched' then listed.counterpart_key end as matched_record_key,
        case when decided.outcome = 'matched' then listed.counterpart_source_id end as matched_source_id,
        listed.candidate_keys,
        case
            when decided.outcome = 'ambiguous' then
                'match rule ' || cast(decided.priority as varchar) || ' (' || decided.fields || ') finds '
                || (case when decided.side = 'crm' then 'ERP' else 'CRM' end) || ' candidates ' || listed.candidate_keys
                || coalesce(' and the same values on ' || (case when decided.side = 'crm' then 'CRM' else 'ERP' end)
                            || ' ' || listed.competing_keys, '')
        end as reason_detail
    from decided
    inner join listed
        on decided.entity = listed.entity
        and decided.side = listed.side
        and decided.source_id = listed.source_id
)

select * from final
