{# A target key as JSON text, built the same way everywhere so keys compare as text. #}
{% macro json_key() -%}
    cast({{ portable_json_object(varargs | join(', ')) }} as varchar)
{%- endmacro %}

{# A Dataverse lookup reference the writeback resolves to a GUID: {"ref": set, "key": {...}}. #}
{% macro crm_ref(entity_set, key_name, key_value) -%}
    {{ portable_json_object("'ref', '" ~ entity_set ~ "', 'key', " ~ portable_json_object("'" ~ key_name ~ "', " ~ key_value)) }}
{%- endmacro %}
