{#
    The combination of the columns is unique (no package needed).

    changed_records   on a model incremental on int_changed_records (macros/incremental_records.sql),
                      ref('int_changed_records'): an incremental build tests only the rows of the
                      records it rebuilt (the model's other rows passed when their build tested
                      them); a --full-refresh build tests every row
#}
{% test unique_combination(model, columns, changed_records=none) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }} as tested
{%- if changed_records is not none and not flags.FULL_REFRESH %}
where (tested.entity, tested.record_key) in (select changed.entity, changed.record_key from {{ changed_records }} as changed)
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
