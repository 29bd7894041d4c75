{# A key as JSON text, built the same way everywhere so keys compare as text. #}
{% macro json_key() -%}
    cast({{ portable_json_object(varargs | join(', ')) }} as varchar)
{%- endmacro %}
