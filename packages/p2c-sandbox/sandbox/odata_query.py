"""OData system query options → parameterised SQL for :class:`sandbox.store.Store`.

``$filter`` is tokenised and parsed by recursive descent into a small tree, checked against the
entity's columns and types, and rendered as a SQL ``WHERE`` with ``?`` parameters (never string
interpolation of values). Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses,
``in (…)``, ``null``, ``true``/``false``, numbers, ``'strings'`` (``''`` escapes a quote), unquoted
GUIDs, dates and ISO date-times, ``contains``/``startswith``/``endswith``, F&O enum literals
(``Microsoft.Dynamics.DataEntities.NoYes'Yes'``), F&O wildcard equality (``Name eq '*retail*'``),
parameter aliases (``@p1``) and column-to-column comparisons.

Errors are :class:`QueryError` (the apps render their protocol's 400 body from ``message``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sandbox.schema import Col, Entity
from sandbox.store import q

CRM_NAMESPACE = "Microsoft.Dynamics.CRM"
ERP_NAMESPACE = "Microsoft.Dynamics.DataEntities"

EDM = {
    "guid": "Edm.Guid",
    "string": "Edm.String",
    "int": "Edm.Int32",
    "bigint": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "date": "Edm.Date",
    "enum": "Edm.Enum",
    "null": "null",
}


class QueryError(Exception):
    """A query option the service refuses (HTTP 400)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- key predicates in URLs ---------------------------------------------------------------------

_KEY_NAME = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*")


def key_parts(text: str) -> list[tuple[str | None, str, bool]]:
    """A decoded key predicate (``accountnumber='A''1',x=5``) as [(name or None, literal, was quoted)];
    ``''`` in a quoted literal is one quote. Both services' URL keys use this grammar."""
    out: list[tuple[str | None, str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        name = None
        m = _KEY_NAME.match(text, i)
        if m:
            name, i = m.group(1), m.end()
        if i < n and text[i] == "'":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise QueryError(f"Bad Request - Error in query syntax: unterminated string literal at "
                                     f"position {i} in '{text}'.")
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            out.append((name, "".join(buf), True))
            i = j + 1
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            lit = text[i:j].strip()
            if not lit:
                raise QueryError(f"Bad Request - Error in query syntax: empty key value at position {i} in '{text}'.")
            out.append((name, lit, False))
            i = j
        while i < n and text[i] == " ":
            i += 1
        if i < n:
            if text[i] != ",":
                raise QueryError(f"Bad Request - Error in query syntax: ',' expected at position {i} in '{text}'.")
            i += 1
    return out


# --- tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<enum>[A-Za-z_][\w.]*\.[A-Za-z_]\w*'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![\w-]))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:]))
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?(?![\w.]))
  | (?P<alias>@[A-Za-z_]\w*)
  | (?P<ident>[A-Za-z_$][\w$]*(?:/[A-Za-z_][\w]*)*)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos] == "'":
                raise QueryError(f"There is an unterminated literal at position {pos} in '{text}'.")
            raise QueryError(f"Syntax error at position {pos} in '{text}'.")
        if m.lastgroup != "ws":
            out.append(Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    return out


# --- tree -------------------------------------------------------------------------------------


@dataclass
class Lit:
    value: Any
    type: str  # an EDM short name: string, number, bool, null, guid, datetime, date, enum
    enum: str | None = None


@dataclass
class Prop:
    col: Col


@dataclass
class Cmp:
    op: str
    left: Any
    right: Any


@dataclass
class In:
    left: Any
    items: list[Lit]


@dataclass
class Func:
    name: str
    args: list[Any]


@dataclass
class BoolOp:
    op: str  # and / or
    left: Any
    right: Any


@dataclass
class Not:
    expr: Any


_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"contains", "startswith", "endswith"}


@dataclass
class _Parser:
    tokens: list[Token]
    entity: Entity
    namespace: str
    aliases: dict[str, str] = field(default_factory=dict)
    text: str = ""
    i: int = 0
    datetime_ms: bool = False  # date-times kept with milliseconds (Business Central's lastModifiedDateTime)

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise QueryError(f"Syntax error: unexpected end of the expression '{self.text}'.")
        self.i += 1
        return tok

    def expect(self, kind: str) -> Token:
        tok = self.take()
        if tok.kind != kind:
            raise QueryError(f"Syntax error at position {tok.pos} in '{self.text}': '{tok.text}' found, {kind} expected.")
        return tok

    def word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.text in words

    def parse(self) -> Any:
        if not self.tokens:
            raise QueryError("The $filter expression is empty.")
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise QueryError(f"Syntax error at position {tok.pos} in '{self.text}'.")
        return node

    def or_expr(self) -> Any:
        node = self.and_expr()
        while self.word("or"):
            self.take()
            node = BoolOp("or", node, self.and_expr())
        return node

    def and_expr(self) -> Any:
        node = self.unary()
        while self.word("and"):
            self.take()
            node = BoolOp("and", node, self.unary())
        return node

    def unary(self) -> Any:
        if self.word("not"):
            self.take()
            return Not(self.unary())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.operand()
        if self.word(*_COMPARE):
            op = self.take().text
            return Cmp(op, left, self.operand())
        if self.word("in"):
            self.take()
            self.expect("lparen")
            items = [self.operand()]
            while self.peek() is not None and self.peek().kind == "comma":  # type: ignore[union-attr]
                self.take()
                items.append(self.operand())
            self.expect("rparen")
            if not all(isinstance(x, Lit) for x in items):
                raise QueryError("The 'in' operator takes a list of literals.")
            return In(left, items)
        return left

    def operand(self) -> Any:
        tok = self.take()
        k = tok.kind
        if k == "lparen":
            node = self.or_expr()
            self.expect("rparen")
            return node
        if k == "string":
            return Lit(tok.text[1:-1].replace("''", "'"), "string")
        if k == "enum":
            name, _, rest = tok.text.partition("'")
            return Lit(rest[:-1].replace("''", "'"), "enum", enum=name.rsplit(".", 1)[-1])
        if k == "datetime":
            return Lit(_normalise_datetime(tok.text, self.datetime_ms), "datetime")
        if k == "date":
            try:
                return Lit(date.fromisoformat(tok.text).isoformat(), "date")
            except ValueError:
                raise QueryError(f"'{tok.text}' is not a valid Edm.Date literal.") from None
        if k == "guid":
            return Lit(tok.text.lower(), "guid")
        if k == "number":
            t = tok.text.rstrip("mMdDfFlL")
            return Lit(float(t) if any(c in t for c in ".eE") else int(t), "number")
        if k == "alias":
            if tok.text not in self.aliases:
                raise QueryError(f"The parameter alias '{tok.text}' is not defined.")
            sub = _Parser(tokenize(self.aliases[tok.text]), self.entity, self.namespace, {}, self.aliases[tok.text],
                          datetime_ms=self.datetime_ms)
            node = sub.operand()
            if sub.peek() is not None:
                raise QueryError(f"The value of the parameter alias '{tok.text}' is not a single literal.")
            return node
        if k == "ident":
            if tok.text in ("true", "false"):
                return Lit(tok.text == "true", "bool")
            if tok.text == "null":
                return Lit(None, "null")
            nxt = self.peek()
            if nxt is not None and nxt.kind == "lparen":
                return self.function(tok)
            return Prop(self.column(tok.text))
        raise QueryError(f"Syntax error at position {tok.pos} in '{self.text}': unexpected '{tok.text}'.")

    def function(self, tok: Token) -> Func:
        name = tok.text
        if name not in _FUNCS:
            raise QueryError(f"An unknown function with name '{name}' was found.")
        self.expect("lparen")
        args = [self.operand()]
        while self.peek() is not None and self.peek().kind == "comma":  # type: ignore[union-attr]
            self.take()
            args.append(self.operand())
        self.expect("rparen")
        if len(args) != 2 or not isinstance(args[0], Prop) or not isinstance(args[1], Lit) or args[1].type != "string":
            raise QueryError(f"The function '{name}' takes a property and a string literal.")
        if args[0].col.type not in ("string", "enum"):
            raise QueryError(f"The function '{name}' is not supported on the {EDM[args[0].col.type]} property '{args[0].col.name}'.")
        return Func(name, args)

    def column(self, name: str) -> Col:
        if "/" in name:
            raise QueryError(f"Navigation paths are not supported here: '{name}'.")
        try:
            return self.entity.col(name)
        except KeyError:
            raise QueryError(
                f"Could not find a property named '{name}' on type '{self.namespace}.{self.entity.type_name}'."
            ) from None


def _normalise_datetime(text: str, ms: bool = False) -> str:
    """A date-time literal in the form the store keeps (UTC, ``…:SSZ``; ``ms``: ``…:SS.fffZ``), so
    that text comparison is time comparison."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"'{text}' is not a valid Edm.DateTimeOffset literal.") from None
    dt = dt.astimezone(timezone.utc)
    if ms:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- SQL --------------------------------------------------------------------------------------

_SQL_OPS = {"eq": "=", "ne": "IS NOT", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_OP_KIND = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
            "lt": "LessThan", "le": "LessThanOrEqual"}


class _Sql:
    def __init__(self, wildcards: bool, datetime_ms: bool = False):
        self.params: list[Any] = []
        self.wildcards = wildcards
        self.midnight = "T00:00:00.000Z" if datetime_ms else "T00:00:00Z"

    def render(self, node: Any) -> str:
        if isinstance(node, BoolOp):
            return f"({self.render(node.left)} {node.op.upper()} {self.render(node.right)})"
        if isinstance(node, Not):
            return f"(NOT COALESCE({self.render(node.expr)}, 0))"
        if isinstance(node, Cmp):
            return self.compare(node)
        if isinstance(node, In):
            if not isinstance(node.left, Prop):
                raise QueryError("The left side of 'in' must be a property.")
            vals = [self.value(node.left.col, it, "eq") for it in node.items]
            self.params += vals
            return f"{q(node.left.col.name)} IN ({', '.join('?' * len(vals))})"
        if isinstance(node, Func):
            col, text = node.args[0].col, node.args[1].value
            pat = _like_escape(text)
            pat = {"contains": f"%{pat}%", "startswith": f"{pat}%", "endswith": f"%{pat}"}[node.name]
            self.params.append(pat)
            return f"{q(col.name)} LIKE ? ESCAPE '\\'"
        if isinstance(node, Prop) and node.col.type == "bool":
            return f"({q(node.col.name)} = 1)"
        if isinstance(node, Lit) and node.type == "bool":
            return "1" if node.value else "0"
        raise QueryError("The $filter expression must evaluate to a boolean.")

    def compare(self, node: Cmp) -> str:
        left, right, op = node.left, node.right, node.op
        if isinstance(left, Lit) and isinstance(right, Prop):  # literal first: flip
            left, right = right, left
            op = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
        if isinstance(left, Prop) and isinstance(right, Prop):
            if _family(left.col.type) != _family(right.col.type):
                raise _incompatible(left.col.type, right.col.type, op)
            sql_op = "IS" if op == "eq" else _SQL_OPS[op]
            return f"({q(left.col.name)} {sql_op} {q(right.col.name)})"
        if not isinstance(left, Prop) or not isinstance(right, Lit):
            raise QueryError("A comparison needs a property on at least one side.")
        col = left.col
        if right.type == "null":
            if op not in ("eq", "ne"):
                return "0"
            return f"({q(col.name)} IS {'NOT ' if op == 'ne' else ''}NULL)"
        if self.wildcards and op in ("eq", "ne") and right.type == "string" and "*" in right.value:
            pat = _like_escape(right.value).replace("*", "%")
            self.params.append(pat)
            neg = "NOT " if op == "ne" else ""
            return f"(COALESCE({q(col.name)}, '') {neg}LIKE ? ESCAPE '\\')"
        self.params.append(self.value(col, right, op))
        return f"({q(col.name)} {_SQL_OPS[op]} ?)"

    def value(self, col: Col, lit: Lit, op: str) -> Any:
        t = col.type
        ok = {
            "string": ("string",),
            "guid": ("guid", "string"),
            "int": ("number",),
            "bigint": ("number",),
            "decimal": ("number",),
            "bool": ("bool",),
            "datetime": ("datetime", "date"),
            "date": ("date",),
            "enum": ("enum", "string"),
        }[t]
        if lit.type not in ok:
            raise _incompatible(t, lit.type, op)
        if t in ("int", "bigint") and isinstance(lit.value, float) and not lit.value.is_integer():
            raise _incompatible(t, "decimal", op)
        if t == "bool":
            return 1 if lit.value else 0
        if t == "guid":
            return str(lit.value).lower()
        if t == "datetime" and lit.type == "date":
            return f"{lit.value}{self.midnight}"
        if t == "enum":
            if lit.type == "enum" and col.enum and lit.enum != col.enum:
                raise QueryError(
                    f"The enum type '{lit.enum}' does not match the type '{col.enum}' of property '{col.name}'."
                )
            return lit.value
        return lit.value


def _family(t: str) -> str:
    return {"int": "number", "bigint": "number", "decimal": "number", "guid": "string"}.get(t, t)


def _incompatible(a: str, b: str, op: str) -> QueryError:
    ta, tb = EDM.get(a, "Edm." + a.capitalize()), EDM.get(b, "Edm." + b.capitalize())
    if b == "number":
        tb = "Edm.Int32"
    return QueryError(
        f"A binary operator with incompatible types was detected. Found operand types '{ta}' and '{tb}' "
        f"for operator kind '{_OP_KIND.get(op, op)}'."
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- public API -------------------------------------------------------------------------------


def parse_filter(
    text: str,
    entity: Entity,
    *,
    namespace: str = CRM_NAMESPACE,
    wildcards: bool = False,
    aliases: dict[str, str] | None = None,
    datetime_ms: bool = False,
) -> tuple[str, list[Any]]:
    """``$filter`` text → (SQL WHERE fragment, parameters). ``wildcards``: F&O's ``eq '*x*'``."""
    tree = _Parser(tokenize(text), entity, namespace, aliases or {}, text, datetime_ms=datetime_ms).parse()
    sql = _Sql(wildcards, datetime_ms)
    where = sql.render(tree)
    return where, sql.params


def parse_select(text: str | None, entity: Entity, *, namespace: str = CRM_NAMESPACE) -> list[str] | None:
    """``$select`` → column names in the order given (None when absent or ``*``)."""
    if text is None or text.strip() in ("", "*"):
        return None
    out: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if name not in entity.names:
            raise QueryError(
                f"Could not find a property named '{name}' on type '{namespace}.{entity.type_name}'."
            )
        if name not in out:
            out.append(name)
    return out


def parse_orderby(text: str | None, entity: Entity, *, namespace: str = CRM_NAMESPACE) -> list[tuple[str, bool]]:
    """``$orderby=a asc,b desc`` → [(column, descending)]."""
    if text is None or not text.strip():
        return []
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise QueryError(f"Syntax error in $orderby at '{part.strip()}'.")
        if words[0] not in entity.names:
            raise QueryError(
                f"Could not find a property named '{words[0]}' on type '{namespace}.{entity.type_name}'."
            )
        out.append((words[0], len(words) == 2 and words[1] == "desc"))
    return out


def parse_top(text: str | None, option: str = "$top") -> int | None:
    """``$top``/``$skip`` → a non-negative int (None when absent)."""
    if text is None:
        return None
    t = text.strip()
    if not t.isdigit():
        raise QueryError(f"Invalid value '{text}' for {option} query option found. "
                         f"The {option} query option requires a non-negative integer value.")
    return int(t)
