-- Every source row that could not be mapped, with a reason code and a sentence a person can act on
with records as (
    select * from {{ ref('int_records') }}
    where reason is not null
),

final as (
    select
        side as system,
        entity_set,
        entity,
        source_id,
        natural_key,
        company,
        reason,
        case reason
            when 'invalid_value' then 'The ' || entity_set || ' row holds values p2c cannot take: ' || reason_detail || '. Correct them in the source system; the row is left out until then.'
            when 'missing_key' then 'The ' || entity_set || ' row has no natural key, so it cannot be matched to the other system.'
            when 'duplicate_key' then 'The key ' || natural_key || ' is used by more than one ' || entity_set || ' row in the same legal entity; p2c does not guess which one is meant.'
            when 'unmapped_company' then 'The ' || reason_detail || ' is not in the company map (seeds/company_map.csv).'
            when 'unmapped_currency' then 'The ' || reason_detail || ' is not in the currency map (seeds/currency_map.csv).'
            when 'unmapped_unit' then 'The ' || reason_detail || ' is not in the unit map (unit_map.csv in the ERP''s home: systems/<erp>/seeds/<erp>/).'
            when 'unmapped_country' then 'The ' || reason_detail || ' is not in the country map (seeds/country_map.csv).'
            when 'unmapped_payment_terms' then 'The ' || reason_detail || ' is not in the payment terms map (payment_terms_map.csv in the ERP''s home: systems/<erp>/seeds/<erp>/).'
            when 'unmapped_salesperson' then 'The ' || reason_detail || ' is coupled to no CRM user, so the record has no owner p2c may name; p2c couples salespeople to CRM users by e-mail address, then by name, and never creates either.'
            when 'write_in_product' then 'The line has a ' || reason_detail || ' instead of a catalogue product; the ERP only takes catalogue products.'
            when 'parent_missing' then 'The parent ' || reason_detail || ' was not found.'
            when 'ambiguous_match' then 'The row matches more than one record of the other system, so p2c does not guess which one is meant: ' || reason_detail || '. Make the values differ, or remove the duplicate, and the next run matches it (seeds/match_rules.csv holds the rules).'
            when 'parent_quarantined' then 'The parent ' || reason_detail || ' is in quarantine.'
        end as reason_text
    from records
)

select * from final
