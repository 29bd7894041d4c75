{#- A GUID derived from a text (md5, shaped 8-4-4-4-12): the primary key p2c gives a record it creates
    by upsert where the target has no alternate key for it (Dataverse currencies and units), so a
    create sent twice lands on one row. Same result on DuckDB and PostgreSQL. -#}
{% macro stable_guid(text) -%}
    (select substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12)
     from (select md5({{ text }}) as h) as hashed)
{%- endmacro %}
