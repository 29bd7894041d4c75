{#
    How a record is addressed in Business Central: the one place BC's keys are spelled.
    BC addresses every record by its GUID `id` inside a company (`companies({companyId})/<set>({id})`):
    an existing record's key is `{"companyId": <company guid>, "id": <guid>}` (business_central_key).
    A record p2c creates gets its `id` from BC, so a create's key carries the number p2c gives it
    instead, `{"companyId": <company guid>, "number": "<no>"}` (a create whose answer was lost is found
    again by `$filter=number eq '…'`); a document line's create key is its document's number and the
    line's sequence. The company GUID comes from the BC company map (int_bc_companies: the canonical
    company code usmf/demf -> the BC company's id).
#}

{#- An existing BC record's key as JSON text: company GUID and record GUID (SQL expressions). -#}
{% macro business_central_key(company_id, id) -%}
    {{ json_key("'companyId'", company_id, "'id'", id) }}
{%- endmacro %}

{#- The company GUID of a canonical company code (SQL expression), through the BC company map. -#}
{% macro business_central_company_id(company) -%}
    (select bc_companies.company_id from {{ ref('int_bc_companies') }} as bc_companies where bc_companies.company = {{ company }})
{%- endmacro %}

{#-
    The BC key a canonical record gets when p2c creates it in BC, from the record's canonical key
    parts (columns of `record`: entity, company, natural_key, header_number, line_number). Null where
    p2c never creates the record in BC: items and prices (BC owns them), posted invoices and their
    lines (BC numbers them when it posts).
-#}
{% macro business_central_create_key(record) -%}
    case {{ record }}.entity
        {%- for entity in ['customer', 'contact', 'quote', 'order'] %}
        when '{{ entity }}' then {{ json_key("'companyId'", business_central_company_id(record ~ '.company'), "'number'", record ~ '.natural_key') }}
        {%- endfor %}
        {%- for entity in ['quote_line', 'order_line'] %}
        when '{{ entity }}' then {{ json_key("'companyId'", business_central_company_id(record ~ '.company'), "'documentNumber'", record ~ '.header_number', "'sequence'", record ~ '.line_number * 10000') }}
        {%- endfor %}
    end
{%- endmacro %}
