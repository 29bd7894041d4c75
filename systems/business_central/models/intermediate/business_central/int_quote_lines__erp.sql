-- BC sales quote lines in the canonical vocabulary, keyed <quote key>|<line number> (BC's sequence / 10000)
{% call bc_document_lines('quote_line', 'salesQuoteLines', 'stg_bc__sales_quote_lines', header='quote', header_staging='stg_bc__sales_quotes') %}
        {{ canonical_text('line_object_number') }} as product_number,
        {{ canonical_text('quantity', 'decimal') }} as quantity,
        {{ canonical_text('unit_code') }} as unit,
        {{ canonical_text('unit_price', 'decimal') }} as unit_price,
        {{ canonical_text('coalesce(discount_amount, 0)', 'decimal') }} as discount_amount
{% endcall %}
