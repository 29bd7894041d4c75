{#
    The customers a document header of either system names, with both sides' rows (the ERP's and the
    CRM's, live ones): a header whose customer is quarantined on every side has no parent
    (has_clean_row false; reason: the customer's). Used by the ERP homes' document header macros.
#}
{% macro document_customers() -%}
select record_key, bool_or(reason is null) as has_clean_row, min(reason) as reason
    from (
        select record_key, reason from {{ ref('int_customers__erp') }} where not is_deleted
        union all
        select record_key, reason from {{ ref('int_customers__crm') }} where not is_deleted
    ) as sides
    where record_key is not null
    group by record_key
{%- endmacro %}
