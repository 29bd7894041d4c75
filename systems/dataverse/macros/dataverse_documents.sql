{#
    The mapping models of Dataverse's quote, order and invoice tables
    (quotes, salesorders, invoices and their details) share their shape: one macro per shape, called
    with what differs and, in a call block, the entity's canonical fields:
    `{% call crm_document_header(...) %} ... {% endcall %}`. Their columns are the record envelope
    (models/intermediate/_mapping_models.yml), then the fields.
#}

{#
    CRM document lines (quotedetails, salesorderdetails, invoicedetails), keyed
    <header key>|<sequence number>, their header the parent; write-in products are quarantined
    (the ERP only takes catalogue products).

    entity      canonical entity ('order_line')
    entity_set  CRM entity set ('salesorderdetails'): its staging model is stg_crm__<entity_set>,
                its primary key <entity set without the s>id
    header      canonical header entity ('order'): its model is int_<header>s__crm, the line's
                lookup to it <header>_id
#}
{% macro crm_document_lines(entity, entity_set, header) %}
{%- set header_id = header ~ '_id' %}
with lines as (
    select * from {{ ref('stg_crm__' ~ entity_set) }}
),

headers as (
    select * from {{ ref('int_' ~ header ~ 's__crm') }}
),

products as (
    select * from {{ ref('int_products__crm') }}
),

units as (
    select * from {{ ref('int_crm_units') }}
),

mapped as (
    select
        lines.*,
        headers.record_key as header_key,
        headers.natural_key as header_number,
        headers.company,
        headers.reason as header_reason,
        products.natural_key as product_number,
        units.unit_name,
        units.unit_symbol,
        count(*) over (partition by lines.{{ header_id }}, lines.sequence_number, lines.is_deleted) as key_count
    from lines
    left join headers on lines.{{ header_id }} = headers.source_id
    left join products on lines.product_id = products.source_id
    left join units on lines.unit_id = units.unit_id
),

final as (
    select
        '{{ entity }}' as entity,
        'crm' as side,
        '{{ entity_set }}' as entity_set,
        line_id as source_id,
        header_key || '|' || cast(sequence_number as varchar) as record_key,
        header_number || '|' || cast(sequence_number as varchar) as natural_key,
        header_number,
        sequence_number as line_number,
        company,
        header_key as parent_key,
        {{ json_key("'" ~ entity_set[:-1] ~ "id'", 'line_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when header_key is null and header_reason is null then 'parent_missing'
            when header_reason is not null then 'parent_quarantined'
            when sequence_number is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when is_write_in or product_id is null then 'write_in_product'
            when unit_id is not null and unit_symbol is null then 'unmapped_unit'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when header_key is null and header_reason is null then '{{ header }} ' || coalesce({{ header_id }}, '(none)')
            when header_reason is not null then '{{ header }} ' || {{ header_id }} || ' (' || header_reason || ')'
            when is_write_in or product_id is null then 'write-in product ' || coalesce(product_description, '(no description)')
            when unit_id is not null and unit_symbol is null then 'unit ' || coalesce(unit_name, unit_id)
        end as reason_detail,
        {{- caller() }}
    from mapped
)

select * from final
{% endmacro %}

{#
    CRM document headers the CRM masters (quotes, orders), keyed <company>|<number> within the
    legal entity of their owning business unit, their customer account the parent.

    entity          canonical entity ('order')
    entity_set      CRM entity set ('salesorders'): its staging model is stg_crm__<entity_set>
    id              primary key column in staging ('order_id'); the API's is <entity set without the s>id
    number          column holding the document number ('order_number')
    payment_terms   the header carries payment terms: mapped through systems/<erp>/seeds/<erp>/payment_terms_map.csv
                    (as `erp_payment_terms_name`), unmapped ones quarantined
#}
{% macro crm_document_header(entity, entity_set, id, number, payment_terms=false) %}
with headers as (
    select * from {{ ref('stg_crm__' ~ entity_set) }}
),

companies as (
    select * from {{ ref('int_companies') }}
),

currencies as (
    select * from {{ ref('int_crm_currencies') }}
),

customers as (
    select * from {{ ref('int_customers__crm') }}
),
{%- if payment_terms %}

payment_terms as (
    select * from {{ ref('payment_terms_map') }}
),
{%- endif %}

mapped as (
    select
        headers.*,
        companies.company,
        companies.business_unit_name,
        currencies.currency_name,
        currencies.currency_code,
        customers.natural_key as customer_account,
        customers.record_key as customer_key,
        customers.reason as customer_reason,
        {%- if payment_terms %}
        payment_terms.erp_payment_terms_name,
        {%- endif %}
        count(*) over (partition by companies.company, headers.{{ number }}, headers.is_deleted) as key_count
    from headers
    left join companies on headers.business_unit_id = companies.business_unit_id
    left join currencies on headers.currency_id = currencies.currency_id
    left join customers on headers.customer_id = customers.source_id
    {%- if payment_terms %}
    left join payment_terms on headers.payment_terms_code = payment_terms.crm_payment_terms_code
    {%- endif %}
),

final as (
    select
        '{{ entity }}' as entity,
        'crm' as side,
        '{{ entity_set }}' as entity_set,
        {{ id }} as source_id,
        company || '|' || {{ number }} as record_key,
        {{ number }} as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        customer_key as parent_key,
        {{ json_key("'" ~ entity_set[:-1] ~ "id'", id) }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        coalesce(state_code, 0) <> 2 as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when {{ number }} is null then 'missing_key'
            when key_count > 1 and not is_deleted then 'duplicate_key'
            when company is null then 'unmapped_company'
            when currency_id is not null and currency_code is null then 'unmapped_currency'
            {%- if payment_terms %}
            when payment_terms_code is not null and erp_payment_terms_name is null then 'unmapped_payment_terms'
            {%- endif %}
            when customer_key is null and customer_reason is null then 'parent_missing'
            when customer_reason is not null then 'parent_quarantined'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then {{ business_unit_detail('business_unit_name', 'business_unit_id') }}
            when currency_id is not null and currency_code is null then 'currency ' || coalesce(currency_name, currency_id)
            {%- if payment_terms %}
            when payment_terms_code is not null and erp_payment_terms_name is null then 'payment terms code ' || cast(payment_terms_code as varchar)
            {%- endif %}
            when customer_key is null and customer_reason is null then 'customer ' || coalesce(customer_id, '(none)')
            when customer_reason is not null then 'customer ' || customer_id || ' (' || customer_reason || ')'
        end as reason_detail,
        {{- caller() }}
    from mapped
)

select * from final
{% endmacro %}
