"""Discovery documents of the F&O service: the service document and the CSDL ``$metadata``.

Generated from the catalogue (``sandbox.schema.ERP_ENTITIES``) so that a generic OData v4 client
can find every collection, its key and the type of each property: entity types in the
``Microsoft.Dynamics.DataEntities`` namespace, enums as ``EnumType``, computed fields annotated
``Org.OData.Core.V1.Computed`` (the writes the service refuses).
"""

from __future__ import annotations

from functools import lru_cache
from xml.etree import ElementTree as ET

from sandbox.finops_protocol import NAMESPACE, edm_type
from sandbox.schema import ERP_ENTITIES, ERP_ENUMS, Col, Entity

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
CONTAINER = "Resources"


def service_document(base_url: str) -> dict:
    return {
        "@odata.context": f"{base_url}$metadata",
        "value": [{"name": e.set_name, "kind": "EntitySet", "url": e.set_name} for e in ERP_ENTITIES],
    }


def _property(parent: ET.Element, entity: Entity, col: Col) -> None:
    attrs = {"Name": col.name, "Type": edm_type(col)}
    if col.name in entity.key:
        attrs["Nullable"] = "false"
    if col.type == "decimal":
        attrs.update(Precision="32", Scale="6")
    if col.max_length:
        attrs["MaxLength"] = str(col.max_length)
    if col.name == "dataAreaId":
        attrs["MaxLength"] = "4"
    prop = ET.SubElement(parent, "Property", attrs)
    if col.readonly:
        ET.SubElement(prop, "Annotation", {"Term": "Org.OData.Core.V1.Computed", "Bool": "true"})


@lru_cache(maxsize=1)
def metadata_xml() -> bytes:
    ET.register_namespace("edmx", EDMX_NS)
    root = ET.Element(f"{{{EDMX_NS}}}Edmx", {"Version": "4.0"})
    services = ET.SubElement(root, f"{{{EDMX_NS}}}DataServices")
    schema = ET.SubElement(services, "Schema", {"Namespace": NAMESPACE, "xmlns": EDM_NS})
    for e in ERP_ENTITIES:
        et = ET.SubElement(schema, "EntityType", {"Name": e.type_name})
        key = ET.SubElement(et, "Key")
        for k in e.key:
            ET.SubElement(key, "PropertyRef", {"Name": k})
        for col in e.columns:
            _property(et, e, col)
    for name, members in ERP_ENUMS.items():
        en = ET.SubElement(schema, "EnumType", {"Name": name})
        for value, member in enumerate(members):
            ET.SubElement(en, "Member", {"Name": member, "Value": str(value)})
    container = ET.SubElement(schema, "EntityContainer", {"Name": CONTAINER})
    for e in ERP_ENTITIES:
        ET.SubElement(container, "EntitySet", {"Name": e.set_name, "EntityType": f"{NAMESPACE}.{e.type_name}"})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
