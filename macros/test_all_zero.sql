{# Fails with every row where the column is not 0 (reconciliation differences). #}
{% test all_zero(model, column_name) %}
select * from {{ model }} where {{ column_name }} <> 0
{% endtest %}
