{#
    The mapping models of F&O's quotation, order and invoice collections
    (headers and lines) share their shape: one macro per shape, called
    with what differs and, in a call block, the entity's canonical fields:
    `{% call erp_document_header(...) %} ... {% endcall %}`. Their columns are the record envelope
    (models/intermediate/_mapping_models.yml), then the fields.
#}

{#
    F&O document headers (quotation, order, invoice), keyed <company>|<number>, the customer
    account their parent.

    entity      canonical entity ('order')
    entity_set  F&O collection ('CDSSalesOrderHeaders')
    staging     staging model of the collection
    number      column holding the document number ('order_number')
    key         columns holding the collection's key after dataAreaId (finops_keys())
#}
{% macro erp_document_header(entity, entity_set, staging, number, key) %}
with headers as (
    select * from {{ ref(staging) }}
),

company_map as (
    select * from {{ ref('company_map') }}
),

currency_map as (
    select * from {{ ref('currency_map') }}
),

customers as (
    {{ document_customers() }}
),

mapped as (
    select
        headers.*,
        company_map.company as mapped_company,
        currency_map.erp_currency_code as known_currency,
        customers.record_key is not null and not customers.has_clean_row as is_customer_quarantined,
        customers.reason as customer_reason
    from headers
    left join company_map on headers.company = company_map.company
    left join currency_map on headers.currency_code = currency_map.erp_currency_code
    left join customers on headers.company || '|' || headers.customer_account = customers.record_key
),

final as (
    select
        '{{ entity }}' as entity,
        'erp' as side,
        '{{ entity_set }}' as entity_set,
        {{ finops_key(entity, 'company', *key) }} as source_id,
        company || '|' || {{ number }} as record_key,
        {{ number }} as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        company || '|' || customer_account as parent_key,
        {{ finops_key(entity, 'company', *key) }} as target_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when {{ number }} is null then 'missing_key'
            when mapped_company is null then 'unmapped_company'
            when currency_code is not null and known_currency is null then 'unmapped_currency'
            when is_customer_quarantined then 'parent_quarantined'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when mapped_company is null then 'legal entity ' || company
            when currency_code is not null and known_currency is null then 'currency ' || currency_code
            when is_customer_quarantined then 'customer ' || company || '|' || customer_account || ' (' || customer_reason || ')'
        end as reason_detail,
        {{- caller() }}
    from mapped
)

select * from final
{% endmacro %}

{#
    F&O document lines, keyed <header key>|<line creation sequence number>, their header the parent.

    entity      canonical entity ('order_line')
    entity_set  F&O collection ('CDSSalesOrderLines')
    staging     staging model of the collection
    header      canonical header entity ('order'): its model is int_<header>s__erp
    number      column holding the header's number ('order_number')
    key         columns holding the collection's key after dataAreaId (finops_keys())
#}
{% macro erp_document_lines(entity, entity_set, staging, header, number, key) %}
with lines as (
    select * from {{ ref(staging) }}
),

headers as (
    select * from {{ ref('int_' ~ header ~ 's__erp') }}
),

unit_map as (
    select distinct erp_unit_symbol from {{ ref('unit_map') }}
),

mapped as (
    select
        lines.*,
        headers.record_key as header_key,
        headers.reason as header_reason,
        unit_map.erp_unit_symbol as known_unit
    from lines
    left join headers
        on lines.company = headers.company
        and lines.{{ number }} = headers.natural_key
    left join unit_map on lines.unit_symbol = unit_map.erp_unit_symbol
),

final as (
    select
        '{{ entity }}' as entity,
        'erp' as side,
        '{{ entity_set }}' as entity_set,
        {{ finops_key(entity, 'company', *key) }} as source_id,
        company || '|' || {{ number }} || '|' || cast(sequence_number as varchar) as record_key,
        {{ number }} || '|' || cast(sequence_number as varchar) as natural_key,
        {{ number }} as header_number,
        sequence_number as line_number,
        company,
        company || '|' || {{ number }} as parent_key,
        {{ finops_key(entity, 'company', *key) }} as target_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        false as is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when header_key is null and header_reason is null then 'parent_missing'
            when header_reason is not null then 'parent_quarantined'
            when sequence_number is null then 'missing_key'
            when unit_symbol is not null and known_unit is null then 'unmapped_unit'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when header_key is null and header_reason is null then '{{ header }} ' || company || '|' || coalesce({{ number }}, '(none)')
            when header_reason is not null then '{{ header }} ' || company || '|' || {{ number }} || ' (' || header_reason || ')'
            when unit_symbol is not null and known_unit is null then 'unit ' || unit_symbol
        end as reason_detail,
        {{- caller() }}
    from mapped
)

select * from final
{% endmacro %}
