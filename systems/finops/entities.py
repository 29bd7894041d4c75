"""Finance & Operations: the data entities p2c reads and writes, and the service's constants.

Written from the API fact sheet (``shared/api/finance_operations.md``), not from any emulator.
Each public collection is one line of :data:`ENTITIES`: collection name, its full key (company
first where the entity is company-specific), the columns with their types (codes:
:mod:`p2c_core.entity`) and the canonical entity it feeds. The source, the tenant check and the
writer are built from this table; adding a column or an entity is adding it here.
"""

from __future__ import annotations

from p2c_core.entity import EntitySpec

PAGE_SIZE = 10000  # maximum server-driven page
COMPANY = "dataAreaId"  # the legal entity key part of every company-specific entity

_LINE = "SalesUnitSymbol SalesPrice:decimal LineDiscountAmount:decimal LineAmount:decimal CurrencyCode"

ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec("LegalEntities", ("LegalEntityId",), "LegalEntityId Name AccountingCurrency"),
    EntitySpec("Currencies", ("CurrencyCode",), "CurrencyCode Name Symbol"),
    EntitySpec("UnitsOfMeasure", ("UnitSymbol",), "UnitSymbol UnitDescription UnitClass DecimalPrecision:int IsBaseUnit IsSystemUnit SystemOfUnits"),
    EntitySpec("PaymentTerms", ("dataAreaId", "Name"), "dataAreaId Name Description NumberOfDays:int NumberOfMonths:int PaymentMethodType IsDefaultPaymentTerm"),
    EntitySpec("CustomerGroups", ("dataAreaId", "CustomerGroupId"), "dataAreaId CustomerGroupId Description PaymentTermId IsSalesTaxIncludedInPrice"),
    EntitySpec(
        "CustomersV3",
        ("dataAreaId", "CustomerAccount"),
        "dataAreaId CustomerAccount PartyType PartyNumber OrganizationName PersonFirstName PersonLastName CustomerGroupId"
        " SalesCurrencyCode PaymentTerms PaymentMethod CreditLimit:decimal OnHoldStatus InvoiceAccount LanguageId SiteId"
        " WarehouseId DeliveryMode IsExternallyMaintained AddressStreet AddressCity AddressZipCode AddressState"
        " AddressCountryRegionId AddressCountryRegionISOCode PrimaryContactEmail PrimaryContactPhone PrimaryContactURL"
        " ContactPersonId IsOneTimeCustomer",
        canonical="customer",
        # an enum p2c interprets itself (the others go through a value map in seeds/): the documented members
        known_values=(("OnHoldStatus", frozenset({"No", "Invoice", "All", "Payment", "Requisition", "Never"})),),
    ),
    EntitySpec(
        "ContactPersons",
        ("dataAreaId", "ContactPersonId"),
        "dataAreaId ContactPersonId ContactPersonPartyNumber AssociatedPartyNumber ContactPersonName FirstName MiddleName"
        " LastName PrimaryEmailAddress PrimaryPhoneNumber EmploymentJobTitle IsDefaultContactPerson"
        " IsContactPersonExternallyMaintained IsInactive LastEditDateTime:datetime",
        canonical="contact",
        modified_column="LastEditDateTime",
    ),
    EntitySpec(
        "ReleasedProductsV2",
        ("dataAreaId", "ItemNumber"),
        "dataAreaId ItemNumber ProductNumber ProductName SearchName ProductType ProductGroupId ItemModelGroupId"
        " InventoryUnitSymbol SalesUnitSymbol SalesPrice:decimal UnitCost:decimal SalesSalesTaxItemGroupCode IsSalesProhibited",
        canonical="product",
    ),
    EntitySpec(
        "CDSSalesQuotationHeaders",
        ("dataAreaId", "SalesQuotationNumber"),
        "dataAreaId SalesQuotationNumber SalesQuotationName RequestingCustomerAccountNumber InvoiceCustomerAccountNumber"
        " CurrencyCode SalesQuotationStatus SalesQuotationExpiryDate:datetime GeneratedSalesOrderNumber PaymentTermsName"
        " QuotationTotalAmount:decimal QuotationTotalTaxAmount:decimal",
        canonical="quote",
    ),
    EntitySpec(
        "CDSSalesQuotationLines",
        ("dataAreaId", "SalesQuotationNumber", "LineCreationSequenceNumber"),
        f"dataAreaId SalesQuotationNumber LineCreationSequenceNumber:int ProductNumber LineDescription RequestedSalesQuantity:decimal {_LINE}",
        canonical="quote_line",
    ),
    EntitySpec(
        "CDSSalesOrderHeaders",
        ("dataAreaId", "SalesOrderNumber"),
        "dataAreaId SalesOrderNumber SalesOrderName OrderingCustomerAccountNumber InvoiceCustomerAccountNumber CurrencyCode"
        " SalesOrderStatus SalesOrderProcessingStatus PaymentTermsName RequestedShippingDate:datetime QuotationNumber"
        " CustomersOrderReference LanguageId OrderingCustomerIsExternallyMaintained InvoiceCustomerIsExternallyMaintained"
        " IsSalesProcessingStopped OrderCreationDateTime:datetime OrderTotalAmount:decimal OrderTotalTaxAmount:decimal"
        " OrderTotalChargesAmount:decimal TotalDiscountAmount:decimal",
        canonical="order",
    ),
    EntitySpec(
        "CDSSalesOrderLines",
        ("dataAreaId", "SalesOrderNumber", "LineCreationSequenceNumber"),
        "dataAreaId SalesOrderNumber LineCreationSequenceNumber:int ProductNumber LineDescription OrderedSalesQuantity:decimal"
        f" {_LINE} TotalTaxAmount:decimal SalesOrderLineStatus",
        canonical="order_line",
    ),
    EntitySpec(
        "SalesInvoiceHeadersV2",
        ("dataAreaId", "InvoiceNumber", "InvoiceDate", "LedgerVoucher"),
        "dataAreaId InvoiceNumber InvoiceDate:datetime LedgerVoucher SalesOrderNumber InvoiceCustomerAccountNumber CurrencyCode"
        " TotalInvoiceAmount:decimal TotalTaxAmount:decimal TotalDiscountAmount:decimal TotalChargeAmount:decimal"
        " PaymentTermsName CustomersOrderReference",
        canonical="invoice",
    ),
    EntitySpec(
        "SalesInvoiceLines",
        ("dataAreaId", "InvoiceNumber", "LineCreationSequenceNumber", "InvoiceDate"),
        "dataAreaId InvoiceNumber LineCreationSequenceNumber:int InvoiceDate:datetime ProductNumber ProductName"
        " InvoicedQuantity:decimal SalesPrice:decimal LineAmount:decimal LineTotalDiscountAmount:decimal"
        " LineTotalTaxAmount:decimal SalesUnitSymbol CurrencyCode",
        canonical="invoice_line",
    ),
)
