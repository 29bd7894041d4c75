"""Dataverse discovery: the service document, ``$metadata`` (CSDL) and ``EntityDefinitions``.

Generated from the catalogue (:mod:`sandbox.schema`), in the shapes the real service answers:
entity types in namespace ``Microsoft.Dynamics.CRM`` (alias ``mscrm``) deriving from
``crmbaseentity``, lookups as ``_<name>_value`` properties plus single-valued navigation
properties (polymorphic customer lookups as ``<name>_account`` / ``<name>_contact``), alternate keys
in the ``OData.Community.Keys.V1.AlternateKeys`` annotation and change tracking in the
``Org.OData.Capabilities.V1.ChangeTracking`` annotation of each entity set.

``EntityDefinitions`` rows and their ``Attributes``/``Keys`` follow the metadata Web API: a lookup
attribute's ``LogicalName`` is the lookup name (``primarycontactid``), not its ``_…_value`` form.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import lru_cache
from typing import Any

from sandbox.odata_query import EDM
from sandbox.schema import CRM, CRM_ENTITIES, CRM_PREFIX, Col, Entity

NAMESPACE = "Microsoft.Dynamics.CRM"
_MEMO = {"description", "productdescription"}
_DECIMAL = {"quantity", "exchangerate", "quantityshipped"}
_OBJECT_TYPE_CODES = {
    "account": 1, "contact": 2, "businessunit": 10, "systemuser": 8, "transactioncurrency": 9105,
    "product": 1024, "pricelevel": 1022, "productpricelevel": 1026, "quote": 1084, "quotedetail": 1085,
    "salesorder": 1088, "salesorderdetail": 1089, "invoice": 1090, "invoicedetail": 1091,
    "uom": 1055, "uomschedule": 1056,
}
_ORG_OWNED = {"products", "pricelevels", "transactioncurrencies", "uomschedules"}
_NO_OWNER = {"uoms", "productpricelevels"}
_BUSINESS_OWNED = {"systemusers", "businessunits"}


def _mid(*parts: str) -> str:
    """A stable MetadataId: the same GUID for the same thing on every start."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "p2c-sandbox/" + "/".join(parts)))


def lookup_name(col: Col) -> str:
    """``_primarycontactid_value`` → ``primarycontactid`` (the attribute's logical name)."""
    return col.name[1:-len("_value")] if col.lookup else col.name


def navigations(e: Entity) -> list[tuple[str, Col, str]]:
    """(navigation property, lookup column, target entity set) for every lookup of ``e``."""
    out = []
    for c in e.columns:
        if not c.lookup:
            continue
        if c.targets:
            for t in c.targets:
                out.append((f"{c.nav}_{CRM[t].type_name}", c, t))
        else:
            out.append((c.nav or lookup_name(c), c, c.lookup))
    return out


def edm_type(col: Col) -> str:
    return EDM[col.type]


def attribute_type(e: Entity, col: Col) -> str:
    if col.lookup:
        if col.name == "_ownerid_value":
            return "Owner"
        return "Customer" if col.targets else "Lookup"
    if col.name in e.key:
        return "Uniqueidentifier"
    if col.name == "statecode":
        return "State"
    if col.name == "statuscode":
        return "Status"
    return {
        "guid": "Uniqueidentifier",
        "string": "Memo" if col.name in _MEMO else "String",
        "int": "Picklist" if col.name.endswith("code") else "Integer",
        "bigint": "BigInt",
        "decimal": "Decimal" if col.name in _DECIMAL else "Money",
        "bool": "Boolean",
        "datetime": "DateTime",
        "date": "DateTime",
    }[col.type]


def key_name(e: Entity, key: tuple[str, ...]) -> str:
    return f"{CRM_PREFIX}{e.type_name}_" + "_".join(k.strip("_").removesuffix("_value") for k in key) + "_key"


# --- service document and CSDL ----------------------------------------------------------------


def service_document(base_url: str) -> dict[str, Any]:
    return {
        "@odata.context": f"{base_url}$metadata",
        "value": [{"name": e.set_name, "kind": "EntitySet", "url": e.set_name} for e in CRM_ENTITIES],
    }


@lru_cache(maxsize=4)
def metadata_xml(entities: tuple[Entity, ...] = CRM_ENTITIES) -> bytes:
    x: list[str] = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        '<edmx:Reference Uri="http://vocabularies.odata.org/OData.Community.Keys.V1.xml">'
        '<edmx:Include Namespace="OData.Community.Keys.V1" Alias="Keys"/></edmx:Reference>',
        '<edmx:Reference Uri="https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml">'
        '<edmx:Include Namespace="Org.OData.Capabilities.V1" Alias="Capabilities"/></edmx:Reference>',
        '<edmx:Reference Uri="https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml">'
        '<edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/></edmx:Reference>',
        "<edmx:DataServices>",
        f'<Schema Namespace="{NAMESPACE}" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
        '<EntityType Name="crmbaseentity" Abstract="true"/>',
    ]
    for e in entities:
        x.append(f'<EntityType Name="{e.type_name}" BaseType="mscrm.crmbaseentity">')
        x.append("<Key>" + "".join(f'<PropertyRef Name="{k}"/>' for k in e.key) + "</Key>")
        for c in e.columns:
            extra = f' MaxLength="{c.max_length}"' if c.max_length else ""
            if c.type == "decimal":
                extra += ' Scale="Variable"'
            x.append(f'<Property Name="{c.name}" Type="{edm_type(c)}"{extra}>')
            if c.readonly:
                x.append('<Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/>')
            x.append("</Property>")
        for nav, col, target in navigations(e):
            t = CRM[target]
            x.append(f'<NavigationProperty Name="{nav}" Type="mscrm.{t.type_name}" Nullable="true">'
                     f'<ReferentialConstraint Property="{col.name}" ReferencedProperty="{t.key[0]}"/>'
                     "</NavigationProperty>")
        if e.alternate_keys:
            x.append('<Annotation Term="OData.Community.Keys.V1.AlternateKeys"><Collection>')
            for ak in e.alternate_keys:
                x.append('<Record Type="OData.Community.Keys.V1.AlternateKey"><PropertyValue Property="Key"><Collection>')
                for k in ak:
                    x.append('<Record Type="OData.Community.Keys.V1.PropertyRef">'
                             f'<PropertyValue Property="Alias" String="{k}"/>'
                             f'<PropertyValue Property="Name" PropertyPath="{k}"/></Record>')
                x.append("</Collection></PropertyValue></Record>")
            x.append("</Collection></Annotation>")
        x.append("</EntityType>")
    x.append('<EntityContainer Name="System">')
    for e in entities:
        x.append(f'<EntitySet Name="{e.set_name}" EntityType="mscrm.{e.type_name}">')
        for nav, _col, target in navigations(e):
            x.append(f'<NavigationPropertyBinding Path="{nav}" Target="{target}"/>')
        x.append('<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
                 f'<PropertyValue Property="Supported" Bool="{"true" if e.change_tracking else "false"}"/>'
                 "</Record></Annotation>")
        x.append("</EntitySet>")
    x += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(x).encode()


# --- EntityDefinitions --------------------------------------------------------------------------


def _label(text: str) -> dict[str, Any]:
    loc = {"Label": text, "LanguageCode": 1033, "IsManaged": True, "MetadataId": _mid("label", text),
           "HasChanged": None}
    return {"LocalizedLabels": [loc], "UserLocalizedLabel": loc}


def _schema_name(name: str) -> str:
    if name.startswith(CRM_PREFIX):
        return CRM_PREFIX + name[len(CRM_PREFIX):].capitalize()
    return name[:1].upper() + name[1:]


def _ownership(e: Entity) -> str:
    if e.set_name in _ORG_OWNED:
        return "OrganizationOwned"
    if e.set_name in _NO_OWNER:
        return "None"
    if e.set_name in _BUSINESS_OWNED:
        return "BusinessOwned"
    return "UserOwned"


@lru_cache(maxsize=None)
def entity_definition(e: Entity) -> dict[str, Any]:
    return {
        "MetadataId": _mid("entity", e.type_name),
        "LogicalName": e.type_name,
        "SchemaName": _schema_name(e.type_name),
        "EntitySetName": e.set_name,
        "LogicalCollectionName": e.set_name,
        "CollectionSchemaName": _schema_name(e.set_name),
        "PrimaryIdAttribute": e.key[0],
        "PrimaryNameAttribute": e.primary_name,
        "ObjectTypeCode": _OBJECT_TYPE_CODES.get(e.type_name, 10000),
        "OwnershipType": _ownership(e),
        "ChangeTrackingEnabled": e.change_tracking,
        "IsCustomEntity": False,
        "IsActivity": False,
        "IsValidForAdvancedFind": True,
        "IsIntersect": False,
        "DisplayName": _label(e.type_name.capitalize()),
        "DisplayCollectionName": _label(e.set_name.capitalize()),
        "Description": _label(""),
    }


def attribute_definitions(e: Entity) -> list[dict[str, Any]]:
    out = []
    for c in e.columns:
        name = lookup_name(c)
        atype = attribute_type(e, c)
        d: dict[str, Any] = {
            "@odata.type": f"#{NAMESPACE}.{_METADATA_TYPES.get(atype, 'AttributeMetadata')}",
            "MetadataId": _mid("attribute", e.type_name, name),
            "LogicalName": name,
            "SchemaName": _schema_name(name),
            "EntityLogicalName": e.type_name,
            "AttributeType": atype,
            "AttributeTypeName": {"Value": f"{atype}Type"},
            "AttributeOf": None,
            "IsPrimaryId": c.name == e.key[0],
            "IsPrimaryName": c.name == e.primary_name,
            "IsCustomAttribute": name.startswith(CRM_PREFIX),
            "IsValidForRead": True,
            "IsValidForCreate": not c.readonly,
            "IsValidForUpdate": not c.readonly and c.name not in e.key,
            "IsValidODataAttribute": True,
            "IsLogical": False,
            "DisplayName": _label(name),
            "RequiredLevel": {"Value": "None", "CanBeChanged": True,
                              "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
        }
        if c.max_length:
            d["MaxLength"] = c.max_length
        if c.lookup:
            d["Targets"] = [CRM[t].type_name for t in (c.targets or (c.lookup,))]
        out.append(d)
    return out


_METADATA_TYPES = {
    "String": "StringAttributeMetadata", "Memo": "MemoAttributeMetadata", "Lookup": "LookupAttributeMetadata",
    "Customer": "LookupAttributeMetadata", "Owner": "LookupAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata", "Integer": "IntegerAttributeMetadata",
    "BigInt": "BigIntAttributeMetadata", "Money": "MoneyAttributeMetadata", "Decimal": "DecimalAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata", "DateTime": "DateTimeAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata", "State": "StateAttributeMetadata", "Status": "StatusAttributeMetadata",
}


def key_definitions(e: Entity) -> list[dict[str, Any]]:
    out = []
    for ak in e.alternate_keys:
        name = key_name(e, ak)
        out.append({
            "MetadataId": _mid("key", e.type_name, name),
            "LogicalName": name,
            "SchemaName": name,
            "EntityLogicalName": e.type_name,
            "KeyAttributes": [lookup_name(e.col(k)) for k in ak],
            "EntityKeyIndexStatus": "Active",
            "DisplayName": _label(name),
            "IsManaged": False,
        })
    return out


# --- a tenant's customisations ------------------------------------------------------------------


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def customize(catalog: dict[str, Entity], without_columns: str = "", without_keys: str = "",
              untracked: str = "") -> dict[str, Entity]:
    """The catalogue as a tenant that lacks some customisations sees it (``p2c sandbox up`` options).

    ``without_columns``: ``set.column,…`` columns the tenant does not have (gone from the metadata
    and from every query: selecting one is a 400, as on a real tenant); ``without_keys``: sets
    whose alternate keys were never defined; ``untracked``: sets without change tracking.
    """
    out = dict(catalog)
    for item in _names(without_columns):
        set_name, _, column = item.partition(".")
        e = out.get(set_name)
        if e is None or column not in e.names and f"_{column}_value" not in e.names:
            raise ValueError(f"--without-columns: {item!r} is not a column of the sandbox's catalogue")
        gone = column if column in e.names else f"_{column}_value"
        out[set_name] = replace(e, columns=tuple(c for c in e.columns if c.name != gone),
                                alternate_keys=tuple(k for k in e.alternate_keys if gone not in k))
    for set_name in _names(without_keys):
        if set_name not in out:
            raise ValueError(f"--without-keys: {set_name!r} is not an entity set of the sandbox")
        out[set_name] = replace(out[set_name], alternate_keys=())
    for set_name in _names(untracked):
        if set_name not in out:
            raise ValueError(f"--untracked: {set_name!r} is not an entity set of the sandbox")
        out[set_name] = replace(out[set_name], change_tracking=False)
    return out
