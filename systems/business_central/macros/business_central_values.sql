{#
    Business Central has no null: a blank text is '' (the option `blocked` is ' '), an unlinked GUID
    is the empty GUID, a blank date 0001-01-01. BC's staging models read them as empty (null).
    Numbers stay as they come (0 is also a real quantity, amount or limit).
#}
{% macro bc_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{% macro bc_guid(column) -%}
    nullif(nullif({{ column }}, ''), '00000000-0000-0000-0000-000000000000')
{%- endmacro %}

{% macro bc_date(column) -%}
    case when cast({{ column }} as date) < cast('1900-01-02' as date) then null else cast({{ column }} as date) end
{%- endmacro %}

{#- The staging columns every BC document header set shares (quotes, orders, posted invoices). -#}
{% macro bc_document_head_columns() -%}
company_id,
        id as document_id,
        {{ bc_text('number') }} as document_number,
        {{ bc_text('external_document_number') }} as external_document_number,
        {{ bc_guid('customer_id') }} as customer_id,
        {{ bc_text('customer_number') }} as customer_number,
        {{ bc_text('customer_name') }} as customer_name,
        {{ bc_text('currency_code') }} as currency_code,
        {{ bc_guid('payment_terms_id') }} as payment_terms_id,
        {{ bc_text('salesperson') }} as salesperson,
        cast(discount_amount as decimal(18, 4)) as discount_amount,
        cast(total_amount_excluding_tax as decimal(18, 4)) as total_amount_excluding_tax,
        cast(total_tax_amount as decimal(18, 4)) as total_tax_amount,
        cast(total_amount_including_tax as decimal(18, 4)) as total_amount_including_tax
{%- endmacro %}

{#- The staging columns every BC document line set shares. -#}
{% macro bc_document_line_columns() -%}
company_id,
        id as line_id,
        document_id,
        cast(sequence as bigint) as sequence,
        {{ bc_guid('item_id') }} as item_id,
        {{ bc_text('line_type') }} as line_type,
        {{ bc_text('line_object_number') }} as line_object_number,
        {{ bc_text('description') }} as description,
        {{ bc_text('unit_of_measure_code') }} as unit_code,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(quantity as decimal(18, 4)) as quantity,
        cast(discount_amount as decimal(18, 4)) as discount_amount,
        cast(discount_percent as decimal(18, 4)) as discount_percent,
        cast(amount_excluding_tax as decimal(18, 4)) as amount_excluding_tax,
        cast(total_tax_amount as decimal(18, 4)) as total_tax_amount,
        cast(amount_including_tax as decimal(18, 4)) as amount_including_tax
{%- endmacro %}

{#- The columns of the raw-table contract every BC row carries, as staging keeps them. -#}
{% macro bc_tracking_columns() -%}
coalesce(_p2c_deleted, false) as is_deleted,
        _p2c_invalid as invalid_values,
        odata_etag,
        _dlt_load_id
{%- endmacro %}
