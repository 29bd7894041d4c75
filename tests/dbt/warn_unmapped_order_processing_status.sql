-- ERP order processing statuses the order status map does not know: the CRM order keeps its
-- status for these (reported, not quarantined)
{{ config(severity='warn') }}

select distinct processing_status
from {{ ref('int_orders__erp') }}
where processing_status is not null
    and processing_status not in (select erp_processing_status from {{ ref('order_status_map') }})
