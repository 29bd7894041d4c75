{#- The number part of a canonical record key: `usmf|ACC-1` → `ACC-1` (a key without a company, a
    product's, is its number). -#}
{% macro key_number(key) -%}
    substr({{ key }}, strpos({{ key }}, '|') + 1)
{%- endmacro %}
