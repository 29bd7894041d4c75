{#
    The mapping models of BC's quote, order and posted invoice sets (headers and lines) share their
    shape: one macro per shape, called with what differs and, in a call block, the entity's canonical
    fields (`{% call bc_document_header(...) %} ... {% endcall %}`). Columns: the record envelope
    (models/intermediate/_mapping_models.yml), then the fields. Rows of `mapped` carry the staging
    row plus `company` (canonical), `accounting_currency` and `currency` (blank = the company's local one).
#}

{#- A BC line's canonical line number: BC numbers lines 10000, 20000, … (a line p2c creates gets
    line_number × 10000); a sequence off that step keeps its own value. -#}
{% macro bc_line_number(sequence) -%}
    cast(case when {{ sequence }} % 10000 = 0 then {{ sequence }} / 10000 else {{ sequence }} end as bigint)
{%- endmacro %}

{#
    BC document headers, keyed <company>|<number>, the customer their parent.
    entity      canonical entity ('order');  entity_set  BC set ('salesOrders');  staging  its staging model
#}
{% macro bc_document_header(entity, entity_set, staging) %}
with headers as (
    select * from {{ ref(staging) }}
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

currency_map as (
    select * from {{ ref('currency_map') }}
),

customers as (
    {{ document_customers() }}
),

bc_customers as (
    -- BC's own customer rows: a BC document whose BC customer is in quarantine goes there too (its
    -- writes would wait on that customer every night)
    select record_key, bool_or(reason is null) as has_clean_row, min(reason) as reason
    from {{ ref('int_customers__erp') }}
    where not is_deleted and record_key is not null
    group by record_key
),

mapped as (
    select
        headers.*,
        companies.company,
        companies.accounting_currency,
        coalesce(headers.currency_code, companies.accounting_currency) as currency,
        currency_map.erp_currency_code as known_currency,
        (customers.record_key is not null and not customers.has_clean_row)
            or (bc_customers.record_key is not null and not bc_customers.has_clean_row) as is_customer_quarantined,
        coalesce(bc_customers.reason, customers.reason) as customer_reason
    from headers
    left join companies on headers.company_id = companies.company_id
    left join currency_map on coalesce(headers.currency_code, companies.accounting_currency) = currency_map.erp_currency_code
    left join customers on companies.company || '|' || headers.customer_number = customers.record_key
    left join bc_customers on companies.company || '|' || headers.customer_number = bc_customers.record_key
),

final as (
    select
        '{{ entity }}' as entity,
        'erp' as side,
        '{{ entity_set }}' as entity_set,
        {{ business_central_key('company_id', 'document_id') }} as source_id,
        company || '|' || document_number as record_key,
        document_number as natural_key,
        cast(null as varchar) as header_number,
        cast(null as bigint) as line_number,
        company,
        company || '|' || customer_number as parent_key,
        {{ business_central_key('company_id', 'document_id') }} as target_key,
        odata_etag as etag,
        modified_at,
        is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when document_number is null then 'missing_key'
            when company is null then 'unmapped_company'
            when known_currency is null then 'unmapped_currency'
            when is_customer_quarantined then 'parent_quarantined'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when company is null then 'BC company ' || company_id
            when known_currency is null then 'currency ' || currency
            when is_customer_quarantined then 'customer ' || company || '|' || customer_number || ' (' || customer_reason || ')'
        end as reason_detail,
        {{- caller() }}
    from mapped
)

select * from final
{% endmacro %}

{#
    BC document lines, keyed <header key>|<line number> (bc_line_number), their header the parent.
    entity 'order_line'; entity_set 'salesOrderLines'; staging its staging model; header 'order':
    its mapping model is int_<header>s__erp, its staging model header_staging.
#}
{% macro bc_document_lines(entity, entity_set, staging, header, header_staging) %}
with lines as (
    select * from {{ ref(staging) }}
),

header_rows as (
    select * from {{ ref(header_staging) }}
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
        header_rows.document_number,
        headers.company,
        headers.record_key as header_key,
        headers.reason as header_reason,
        {{ bc_line_number('lines.sequence') }} as line_number,
        unit_map.erp_unit_symbol as known_unit
    from lines
    left join header_rows
        on lines.company_id = header_rows.company_id
        and lines.document_id = header_rows.document_id
    left join headers
        on headers.source_id = {{ business_central_key('lines.company_id', 'lines.document_id') }}
    left join unit_map on lines.unit_code = unit_map.erp_unit_symbol
),

final as (
    select
        '{{ entity }}' as entity,
        'erp' as side,
        '{{ entity_set }}' as entity_set,
        {{ business_central_key('company_id', 'line_id') }} as source_id,
        company || '|' || document_number || '|' || cast(line_number as varchar) as record_key,
        document_number || '|' || cast(line_number as varchar) as natural_key,
        document_number as header_number,
        cast(line_number as bigint) as line_number,
        company,
        company || '|' || document_number as parent_key,
        {{ business_central_key('company_id', 'line_id') }} as target_key,
        odata_etag as etag,
        cast(null as timestamp with time zone) as modified_at,
        is_deleted,
        true as is_active,
        true as is_primary,
        case
            when invalid_values is not null then 'invalid_value'
            when header_key is null and header_reason is null then 'parent_missing'
            when header_reason is not null then 'parent_quarantined'
            when sequence is null then 'missing_key'
            when unit_code is not null and known_unit is null then 'unmapped_unit'
        end as reason,
        case
            when invalid_values is not null then invalid_values
            when header_key is null and header_reason is null then '{{ header }} ' || coalesce(document_number, document_id)
            when header_reason is not null then '{{ header }} ' || company || '|' || document_number || ' (' || header_reason || ')'
            when unit_code is not null and known_unit is null then 'unit ' || unit_code
        end as reason_detail,
        {{- caller() }}
    from mapped
)

select * from final
{% endmacro %}

{#- A BC order's processing status (the order status map's erp side): Invoiced once a posted
    invoice of its company names it, Shipped once fully shipped, else BC's status. `row` has
    company_id, document_number, is_fully_shipped, status. -#}
{% macro bc_order_status(row) -%}
    case
        when exists (
            select 1 from {{ ref('stg_bc__sales_invoices') }} as invoices
            where invoices.company_id = {{ row }}.company_id and invoices.order_number = {{ row }}.document_number
                and not invoices.is_deleted)
            then 'Invoiced'
        when {{ row }}.is_fully_shipped then 'Shipped'
        else {{ row }}.status
    end
{%- endmacro %}

{#- A JSON array of `value` over a group, ordered (DuckDB to_json(list(…)) / PostgreSQL json_agg). -#}
{% macro bc_json_group_array(value, order_by) -%}
    {%- if target.type == 'postgres' -%}
        json_agg({{ value }} order by {{ order_by }})
    {%- else -%}
        to_json(list({{ value }} order by {{ order_by }}))
    {%- endif -%}
{%- endmacro %}

{#-
    The writes of a BC document's lines (int_bc_<document>_line_writes: writeback_rows of the line
    entity). A line create carries BC's sequence (line number × 10000), lineType Item and its document's
    id (documentId, from the extracted header: a new line of a document BC already has); the lines
    of a document p2c creates travel inside the header's create (deep insert, bc_deep_insert_lines),
    the others are erp__sales_<document>_lines.
-#}
{% macro bc_line_writes(line_entity) -%}
{%- set header_staging = 'stg_bc__sales_' ~ line_entity.replace('_line', '') ~ 's' %}
{{ writeback_rows(line_entity, 'erp', create_defaults=portable_json_object("
        'sequence', cast(split_part(pairs.crm_natural_key, '|', 2) as bigint) * 10000,
        'lineType', 'Item',
        'documentId', (
            select headers.document_id
            from " ~ ref(header_staging) ~ " as headers
            inner join " ~ ref('int_bc_companies') ~ " as header_companies on headers.company_id = header_companies.company_id
            where header_companies.company = pairs.company
                and headers.document_number = split_part(pairs.crm_natural_key, '|', 1)
                and not headers.is_deleted)")) }}
{%- endmacro %}

{#- The JSON array of a new document's line creates (the `line_writes` model's create payloads whose
    parent is `header_key`), for the header's deep insert. -#}
{% macro bc_deep_insert_lines(line_writes, header_key) -%}
    (select {{ bc_json_group_array('line_writes.payload', "cast(split_part(line_writes.record_key, '|', 3) as bigint) nulls first") }}
     from {{ ref(line_writes) }} as line_writes
     where line_writes.operation = 'create'
        and line_writes.record_key like {{ header_key }} || '|%'
        and line_writes.record_key not like {{ header_key }} || '|%|%')
{%- endmacro %}

{#- A BC document's total discount: its lines' discount amounts plus the header's invoice discount. -#}
{% macro bc_total_discount(row, line_staging) -%}
    coalesce({{ row }}.discount_amount, 0) + coalesce((
        select sum(lines.discount_amount) from {{ ref(line_staging) }} as lines
        where lines.company_id = {{ row }}.company_id and lines.document_id = {{ row }}.document_id
            and not lines.is_deleted), 0)
{%- endmacro %}

{#- The line writes of a BC document (`document`: 'quote' | 'order') but the creates that travel
    in a new document's deep insert (erp__sales_<document>s): erp__sales_<document>_lines. -#}
{% macro bc_line_writeback(document) %}
with line_writes as (
    select * from {{ ref('int_bc_' ~ document ~ '_line_writes') }}
),

new_headers as (
    select record_key from {{ ref('erp__sales_' ~ document ~ 's') }}
    where operation = 'create'
),

final as (
    select line_writes.*
    from line_writes
    where not (
        line_writes.operation = 'create'
        and line_writes.record_key like '%|%|%'
        and exists (
            select 1 from new_headers
            where line_writes.record_key like new_headers.record_key || '|%'
                and line_writes.record_key not like new_headers.record_key || '|%|%')
    )
)

select * from final
{% endmacro %}

{#- A new BC document's create defaults (`document`: 'quote' | 'order'; `lines`: its line set, the
    deep insert property): its number and its lines, created in one request. -#}
{% macro bc_document_create_defaults(document, lines) -%}
{{ portable_json_merge_patch(
    portable_json_object("'number', pairs.crm_natural_key"),
    "(select " ~ portable_json_object("'" ~ lines ~ "', coalesce(" ~ bc_deep_insert_lines('int_bc_' ~ document ~ '_line_writes', 'pairs.record_key') ~ ", " ~ portable_json_array() ~ ")") ~ ")") }}
{%- endmacro %}

{#-
    A document's writeback rows (`document`: 'quote' | 'order'; `level`: 'header' for the document,
    'line' for its lines), called with the rows (`{% call bc_document_writes('order', 'header') %}…{% endcall %}`),
    plus two columns of the writeback contract:
    - `skip_reason`: the writes BC refuses, kept in the plan with their reason (the writeback logs them
      skipped, never sends them): a change to an order BC has posted (fully shipped, or named by a
      posted invoice) or to its lines — the ERP owns a posted order from then on, the CRM's later edits
      to it are not sent; a new document for a customer BC blocks for everything (blocked All, or
      blocked by this run: a deleted/inactive account);
    - `carries` (headers): the line creates a new document's create deep-inserts (entity, record_key,
      target_set, crm_id, base_after), recorded as written with it — their couplings and bases — so
      the next run knows them.
-#}
{% macro bc_document_writes(document, level) %}
with planned as (
    {{ caller() }}
),

pairs as (
    select entity, record_key, parent_key from {{ ref('int_record_pairs') }}
    where entity = '{{ document }}{{ "_line" if level == "line" else "" }}'
),

companies as (
    select * from {{ ref('int_bc_companies') }}
),

posted as (
    {%- if document == 'order' %}
    select companies.company || '|' || orders.document_number as record_key, orders.document_number
    from {{ ref('stg_bc__sales_orders') }} as orders
    inner join companies on orders.company_id = companies.company_id
    where not orders.is_deleted
        and (orders.is_fully_shipped or exists (
            select 1 from {{ ref('stg_bc__sales_invoices') }} as invoices
            where invoices.company_id = orders.company_id and invoices.order_number = orders.document_number
                and not invoices.is_deleted))
    {%- else %}
    select cast(null as varchar) as record_key, cast(null as varchar) as document_number where false
    {%- endif %}
),

blocked as (
    select companies.company || '|' || customers.customer_number as record_key
    from {{ ref('stg_bc__customers') }} as customers
    inner join companies on customers.company_id = companies.company_id
    where customers.blocked = 'All' and not customers.is_deleted
    union
    select record_key from {{ ref('int_record_pairs') }}
    where entity = 'customer' and (crm_deleted or not crm_active) and erp_key is not null
),

final as (
    select
        planned.*,
        cast(case
            when posted.record_key is not null
                then 'Business Central has posted sales {{ document }} ' || posted.document_number
                    || ': the ERP owns it from now on, the CRM''s edits to it are not sent'
            {%- if level == 'header' %}
            when planned.operation = 'create' and blocked.record_key is not null
                then 'customer ' || pairs.parent_key || ' is blocked (All) in Business Central: it takes no new documents'
            {%- endif %}
        end as varchar) as skip_reason
        {%- if level == 'header' %},
        cast(case when planned.operation = 'create' then (
            select {{ bc_json_group_array(portable_json_object("
                    'entity', line_writes.entity, 'record_key', line_writes.record_key,
                    'target_set', line_writes.target_set, 'crm_id', line_writes.crm_id,
                    'base_after', line_writes.base_after"),
                "cast(split_part(line_writes.record_key, '|', 3) as bigint) nulls first") }}
            from {{ ref('int_bc_' ~ document ~ '_line_writes') }} as line_writes
            where line_writes.operation = 'create'
                and line_writes.record_key like planned.record_key || '|%'
                and line_writes.record_key not like planned.record_key || '|%|%')
        end as json) as carries
        {%- endif %}
    from planned
    left join pairs on planned.record_key = pairs.record_key
    left join posted on {{ 'planned.record_key' if level == 'header' else 'pairs.parent_key' }} = posted.record_key
    left join blocked on pairs.parent_key = blocked.record_key
)

select * from final
{% endmacro %}
