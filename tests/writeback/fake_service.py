"""An in-memory OData service for the writeback's unit tests (httpx.MockTransport).

It speaks just enough of both protocols: ``$batch`` through the sandbox's own multipart code,
PATCH-upsert by any key with ``If-Match`` / ``If-None-Match``, F&O-style POST creates that refuse an
existing key, ``$filter`` lookups of ``eq`` clauses, and injected faults per ``$batch`` request.
"""

from __future__ import annotations

import json
import re
import uuid
import copy
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import httpx

from systems.dataverse.entities import primary_key

from sandbox import batch as mp

_KEY = re.compile(r"^/?(?:[^()]*/)?(?P<set>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>.*)\))?$")
_CLAUSE = re.compile(r"(\w+) eq ('(?:[^']|'')*'|[\w.-]+)")


def _literal(text: str):
    text = unquote(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    try:
        return int(text)
    except ValueError:
        return text


def parse_key(raw: str) -> dict:
    if "=" not in raw:
        return {"__id": unquote(raw)}
    parts, buf, quoted = [], "", False
    for ch in raw:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    return {p.split("=", 1)[0]: _literal(p.split("=", 1)[1]) for p in parts}


class FakeService:
    def __init__(self, root: str = "/api/data/v9.2/", erp: bool = False) -> None:
        self.root = root
        self.erp = erp
        self.records: dict[str, dict[str, dict]] = {}  # set → id → row
        self.faults: list[tuple[int, dict]] = []  # (status, headers) for the next $batch posts
        self.batch_posts = 0
        self.gets = 0
        self.writes = 0
        self.continue_on_error_seen = False

    # -- data ------------------------------------------------------------------------------
    def add(self, entity_set: str, row: dict) -> dict:
        rid = str(uuid.uuid4())
        row = {**row, "__id": rid, "__v": 1}
        self.records.setdefault(entity_set, {})[rid] = row
        return row

    def rows(self, entity_set: str) -> list[dict]:
        return list(self.records.get(entity_set, {}).values())

    def find(self, entity_set: str, key: dict) -> dict | None:
        for row in self.rows(entity_set):
            if all(str(row.get(k)) == str(v) for k, v in key.items()):
                return row
        return None

    @staticmethod
    def etag(row: dict) -> str:
        return f'W/"{row["__v"]}"'

    def edit(self, entity_set: str, key: dict, **values) -> None:
        row = self.find(entity_set, key)
        row.update(values)
        row["__v"] += 1

    # -- one request -----------------------------------------------------------------------
    def dispatch(self, method: str, url: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        path = urlsplit(url).path
        if path.startswith(self.root):
            path = path[len(self.root):]
        m = _KEY.match(path)
        entity_set, raw_key = m.group("set"), m.group("key")
        data = json.loads(body) if body else {}
        if data.get("bad"):
            return self._error(400, "0x80044331", "A validation error occurred. The value of 'bad' is not allowed.")
        self.writes += 1
        if method == "POST":
            key = {k: data[k] for k in data if k in ("dataAreaId", "CustomerAccount", "ContactPersonId")}
            if self.find(entity_set, key) is not None:
                return self._error(400, "", f"Cannot create a record in {entity_set}. The record already exists.")
            row = self.add(entity_set, data)
            return 201, {"content-type": "application/json"}, json.dumps(row).encode()
        key = parse_key(raw_key)
        row = self.find(entity_set, key)
        if_match = headers.get("if-match")
        if headers.get("if-none-match") == "*" and row is not None:
            return self._error(412, "", "A record with matching key values already exists.")
        if if_match:
            if row is None:
                return self._error(404, "", f"{entity_set} With Id = {key} Does Not Exist")
            if if_match != "*" and if_match != self.etag(row):
                return self._error(412, "", "The version of the existing record doesn't match the RowVersion property provided.")
        created = row is None
        if created:
            row = self.add(entity_set, {**{k: v for k, v in key.items() if k != "__id"}})
        row.update(data)
        row["__v"] += 0 if created else 1
        out = {"content-type": "application/json", "odata-entityid": f"http://x{self.root}{entity_set}({row['__id']})"}
        if "return=representation" in headers.get("prefer", ""):
            pk = primary_key(entity_set)
            return (201 if created else 200), out, json.dumps({pk: row["__id"]}).encode()
        return 204, out, b""

    def _error(self, status: int, code: str, message: str):
        return status, {"content-type": "application/json"}, json.dumps({"error": {"code": code, "message": message}}).encode()

    @contextmanager
    def transaction(self):
        saved = copy.deepcopy(self.records)
        try:
            yield
        except BaseException:
            self.records = saved  # a failed change set leaves nothing behind
            raise

    # -- transport -------------------------------------------------------------------------
    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("$batch"):
            self.batch_posts += 1
            if self.faults:
                status, headers = self.faults.pop(0)
                return httpx.Response(status, headers=headers, json={"error": {"code": "0x80072322", "message": "throttled"}})
            self.continue_on_error_seen |= "continue-on-error" in request.headers.get("prefer", "")
            parts = mp.parse(request.content, request.headers["content-type"])

            def run(sub: mp.SubRequest) -> mp.SubResponse:
                status, headers, body = self.dispatch(sub.method, sub.url, sub.headers, sub.body)
                return mp.SubResponse(status, headers, body)

            result = mp.execute(parts, run, self.transaction, continue_on_error=True,
                                reference_error=lambda ref: mp.SubResponse(400))
            body, ctype = mp.build(result.parts)
            return httpx.Response(200, headers={"content-type": ctype}, content=body)
        if request.method == "GET":
            self.gets += 1
            entity_set = path[len(self.root):]
            flt = request.url.params.get("$filter", "")
            out = []
            for clause in re.split(r"\) or \(", flt.strip("()")):
                key = {k: _literal(v) for k, v in _CLAUSE.findall(clause)}
                row = self.find(entity_set, key)
                if row:
                    pk = primary_key(entity_set)
                    out.append({pk: row["__id"], **{k: row.get(k) for k in key}})
            return httpx.Response(200, json={"value": out})
        return httpx.Response(405)

    def client(self, base: str = "http://crm.test") -> httpx.Client:
        return httpx.Client(base_url=base + self.root, transport=httpx.MockTransport(self.handler))
