"""Compare our operations in openapi.yaml with the same operations in a Kalshi-published document.

    python -m tools.spec_diff UPSTREAM [--ours openapi.yaml] [--deviations spec-deviations.yaml]

UPSTREAM is JSON or YAML, OpenAPI 3.0 or 3.1, whole or an excerpt. Operations are matched by
method and path (path parameter names ignored), else by operationId. Compared: parameters (in,
name, required, schema), request and response bodies (media types, then the schema's type, format,
enum, default and nullability, property by property through $ref/allOf/anyOf/oneOf, and which
properties are required) and the status codes. 3.0's ``nullable: true`` and 3.1's ``null`` type or
``anyOf`` branch mean the same thing here. Descriptions, examples and validation bounds are not
compared: they do not change what the generated client sends or accepts.

Each difference is one line ``OPERATION: WHERE: WHAT[: ours X, upstream Y]``. WHERE names the
parameter, ``request body``, ``response CODE`` or a property as ``Schema.property`` (the schema
is our component's name). Differences listed in spec-deviations.yaml are printed with ``listed:``
in front; a listed one that no longer occurs is printed with ``stale:``. Exit 1 when anything is
unlisted or stale. Our operations that the upstream document lacks are reported, not failed.

Written here because no pip package fits: oasdiff, the maintained diff tool, is a Go binary; the
Python ones found (openapispecdiff, api-schema-diff and the like) are small breaking-change checkers,
none documented to equate 3.0 and 3.1 nullability or to take a list of accepted differences.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ANY_OPERATION = "*"


def load_document(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    if not isinstance(data, dict) or "paths" not in data:
        raise ValueError(f"{path}: not an OpenAPI document (no paths)")
    return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass
class Shape:
    """What a schema means for the wire, with 3.0/3.1 spellings and composition flattened."""

    types: frozenset[str] = frozenset()  # without "null"; empty means any
    nullable: bool | None = None  # None: the schema says nothing about types
    format: str | None = None
    enum: frozenset[str] | None = None
    default: str | None = None
    properties: dict[str, Shape] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    items: Shape | None = None
    name: str | None = None  # the component it came from, to name where its properties differ


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value is not None), None)


def _all_of(parts: Sequence[Shape], own: Shape) -> Shape:
    """Every part holds; keywords beside a $ref/allOf (3.0's ``nullable``) describe the whole."""
    shapes = [*parts, own]
    typed = [shape.types for shape in shapes if shape.types]
    enums = [shape.enum for shape in shapes if shape.enum is not None]
    stated = [shape.nullable for shape in parts if shape.nullable is not None]
    properties: dict[str, Shape] = {}
    for shape in shapes:
        for key, sub in shape.properties.items():
            properties[key] = _all_of([properties[key]], sub) if key in properties else sub
    items = [shape.items for shape in shapes if shape.items is not None]
    return Shape(
        types=frozenset.intersection(*typed) if typed else frozenset(),
        nullable=True if own.nullable else (all(stated) if stated else own.nullable),
        format=_first([own.format, *(shape.format for shape in parts)]),
        enum=frozenset.intersection(*enums) if enums else None,
        default=_first([own.default, *(shape.default for shape in parts)]),
        properties=properties,
        required=frozenset().union(*(shape.required for shape in shapes)),
        items=_all_of(items[:-1], items[-1]) if items else None,
        name=_first(shape.name for shape in shapes),
    )


def _any_of(branches: Sequence[Shape], null_branch: bool) -> Shape:
    """One branch holds: a null branch makes the rest nullable; several branches are a union."""
    if len(branches) <= 1:
        only = branches[0] if branches else Shape()
        return replace(only, nullable=True if null_branch else only.nullable)
    enums = [shape.enum for shape in branches]
    properties: dict[str, Shape] = {}
    for shape in branches:
        properties = {**shape.properties, **properties}
    return Shape(
        types=frozenset()
        if any(not s.types for s in branches)
        else frozenset().union(*(s.types for s in branches)),
        nullable=null_branch or any(shape.nullable for shape in branches),
        format=_first(s.format for s in branches) if len({s.format for s in branches}) == 1 else None,
        enum=None if any(e is None for e in enums) else frozenset().union(*(e for e in enums if e)),
        properties=properties,
        required=frozenset.intersection(*(shape.required for shape in branches)),
        name=_first(shape.name for shape in branches),
    )


class Document:
    """One OpenAPI document: local $refs followed, schemas turned into Shapes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref}")
        node: Any = self.spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self.lookup(node["$ref"])
        return node

    def _is_null(self, node: Any) -> bool:
        node = self.deref(node)
        return isinstance(node, dict) and (
            node.get("type") in ("null", ["null"]) or node.get("enum") == [None]
        )

    def shape(self, node: Any, seen: frozenset[str] = frozenset()) -> Shape:
        if not isinstance(node, dict):
            return Shape()
        parts: list[Shape] = []
        ref = node.get("$ref")
        if ref is not None:
            name = ref.rsplit("/", 1)[-1]
            base = Shape() if ref in seen else self.shape(self.lookup(ref), seen | {ref})
            parts.append(replace(base, name=name))
        parts += [self.shape(part, seen) for part in node.get("allOf", [])]
        for key in ("anyOf", "oneOf"):
            if key in node:
                branches = [self.shape(b, seen) for b in node[key] if not self._is_null(b)]
                parts.append(_any_of(branches, len(branches) < len(node[key])))
        return _all_of(parts, self._own(node, seen))

    def _own(self, node: dict[str, Any], seen: frozenset[str]) -> Shape:
        kind = node.get("type")
        kinds = set(kind if isinstance(kind, list) else [kind] if kind else [])
        enum = node.get("enum")
        nullable = "null" in kinds or node.get("nullable") is True or (enum is not None and None in enum)
        return Shape(
            types=frozenset(kinds - {"null"}),
            nullable=True if nullable else (False if kinds or enum is not None else None),
            format=node.get("format"),
            enum=None if enum is None else frozenset(_text(v) for v in enum if v is not None),
            default=_text(node["default"]) if "default" in node else None,
            properties={k: self.shape(v, seen) for k, v in (node.get("properties") or {}).items()},
            required=frozenset(node.get("required") or []),
            items=self.shape(node["items"], seen) if "items" in node else None,
        )

    def operations(self) -> Iterator[Operation]:
        for path, item in (self.spec.get("paths") or {}).items():
            item = self.deref(item)
            for method in METHODS:
                if method in item:
                    yield Operation(method, path, item, item[method])


_PATH_PARAMETER = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    item: dict[str, Any]  # the path item, for parameters shared by its operations
    op: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """Method and path with parameter names left out: {order_id} and {id} are one path."""
        return self.method, _PATH_PARAMETER.sub("{}", self.path.rstrip("/"))

    @property
    def label(self) -> str:
        return str(self.op.get("operationId") or f"{self.method.upper()} {self.path}")


@dataclass(frozen=True)
class Difference:
    operation: str
    where: str
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.operation}: {self.where}: {self.what}" + (f": {self.detail}" if self.detail else "")


class _Comparison:
    """The differences of one operation, ours against upstream."""

    def __init__(self, label: str, ours: Document, upstream: Document) -> None:
        self.label, self.ours, self.up = label, ours, upstream
        self.found: dict[tuple[str, str], Difference] = {}

    def add(self, where: str, what: str, ours: object = None, upstream: object = None) -> None:
        detail = "" if ours is None else f"ours {ours}, upstream {upstream}"
        self.found.setdefault((where, what), Difference(self.label, where, what, detail))

    def presence(self, where: str, in_ours: bool, in_upstream: bool) -> bool:
        """Reports a thing only one side has; True when both have it."""
        if in_ours != in_upstream:
            self.add(where, "only in ours" if in_ours else "only upstream")
        return in_ours and in_upstream

    def schemas(self, ours: Shape, up: Shape, where: str) -> None:
        def show(values: frozenset[str] | None) -> str | None:
            return None if values is None else "[" + ", ".join(sorted(values)) + "]"

        for what, mine, theirs in (
            ("type", "|".join(sorted(ours.types)) or "any", "|".join(sorted(up.types)) or "any"),
            ("nullable", str(bool(ours.nullable)).lower(), str(bool(up.nullable)).lower()),
            ("format", ours.format, up.format),
            ("enum", show(ours.enum), show(up.enum)),
            ("default", ours.default, up.default),
        ):
            if mine != theirs:
                self.add(where, what, mine or "none", theirs or "none")
        base = ours.name or where
        for key in sorted(ours.properties.keys() | up.properties.keys()):
            at = f"{base}.{key}"
            if self.presence(at, key in ours.properties, key in up.properties):
                if (key in ours.required) != (key in up.required):
                    self.add(
                        at, "required", str(key in ours.required).lower(), str(key in up.required).lower()
                    )
                self.schemas(ours.properties[key], up.properties[key], at)
        if ours.items is not None and up.items is not None:
            self.schemas(ours.items, up.items, f"{where}[]")

    def content(self, ours: dict[str, Any], up: dict[str, Any], where: str) -> None:
        mine, theirs = ours.get("content") or {}, up.get("content") or {}
        for media in sorted(mine.keys() | theirs.keys()):
            if self.presence(f"{where} {media}", media in mine, media in theirs):
                self.schemas(
                    self.ours.shape(mine[media].get("schema")),
                    self.up.shape(theirs[media].get("schema")),
                    f"{where} body",
                )

    @staticmethod
    def parameters(doc: Document, operation: Operation, names: dict[str, str]) -> dict[str, Any]:
        """Parameters by where they are reported; path parameters under our names for them."""
        found = {}
        for raw in [*operation.item.get("parameters", []), *operation.op.get("parameters", [])]:
            param = doc.deref(raw)
            name = param["name"].lower() if param["in"] == "header" else param["name"]
            name = names.get(name, name) if param["in"] == "path" else name
            found[f"parameter {param['in']} {name}"] = param
        return found

    def operation(self, ours: Operation, up: Operation) -> None:
        our_op, up_op = ours.op, up.op
        renamed = dict(
            zip(_PATH_PARAMETER.findall(up.path), _PATH_PARAMETER.findall(ours.path), strict=False)
        )
        mine, theirs = self.parameters(self.ours, ours, {}), self.parameters(self.up, up, renamed)
        for where in sorted(mine.keys() | theirs.keys()):
            if self.presence(where, where in mine, where in theirs):
                required = bool(mine[where].get("required")), bool(theirs[where].get("required"))
                if required[0] != required[1]:
                    self.add(where, "required", str(required[0]).lower(), str(required[1]).lower())
                self.schemas(
                    self.ours.shape(mine[where].get("schema")),
                    self.up.shape(theirs[where].get("schema")),
                    where,
                )
        body = self.ours.deref(our_op.get("requestBody")), self.up.deref(up_op.get("requestBody"))
        if self.presence("request body", body[0] is not None, body[1] is not None):
            required = bool(body[0].get("required")), bool(body[1].get("required"))
            if required[0] != required[1]:
                self.add("request body", "required", str(required[0]).lower(), str(required[1]).lower())
            self.content(body[0], body[1], "request")
        # YAML reads an unquoted 200 as an int: compare status codes as text.
        mine = {str(code): r for code, r in (our_op.get("responses") or {}).items()}
        theirs = {str(code): r for code, r in (up_op.get("responses") or {}).items()}
        for code in sorted(mine.keys() | theirs.keys()):
            if self.presence(f"response {code}", code in mine, code in theirs):
                self.content(self.ours.deref(mine[code]), self.up.deref(theirs[code]), f"response {code}")


@dataclass(frozen=True)
class Deviation:
    operation: str
    where: str
    what: str
    reason: str

    def covers(self, difference: Difference) -> bool:
        return (self.operation in (ANY_OPERATION, difference.operation)) and (
            (self.where, self.what) == (difference.where, difference.what)
        )


def load_deviations(path: Path) -> list[Deviation]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    deviations = []
    for index, entry in enumerate(entries):
        keys = {"operation", "where", "what", "reason"}
        if not isinstance(entry, dict) or set(entry) != keys or not all(entry[k] for k in keys):
            raise ValueError(f"{path}: entry {index} must have exactly {sorted(keys)}, all non-empty")
        deviations.append(Deviation(**{k: str(entry[k]) for k in keys}))
    return deviations


@dataclass
class Report:
    missing: list[str] = field(default_factory=list)
    listed: list[Difference] = field(default_factory=list)
    unlisted: list[Difference] = field(default_factory=list)
    stale: list[Deviation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unlisted and not self.stale

    def lines(self) -> list[str]:
        return [
            *(f"{label}: not in the upstream document" for label in self.missing),
            *(f"listed: {difference}" for difference in self.listed),
            *(str(difference) for difference in self.unlisted),
            *(
                f"stale: {d.operation}: {d.where}: {d.what}: listed, but no longer differs"
                for d in self.stale
            ),
        ]


def compare(ours: dict[str, Any], upstream: dict[str, Any], deviations: Sequence[Deviation]) -> Report:
    mine, theirs = Document(ours), Document(upstream)
    by_path = {operation.key: operation for operation in theirs.operations()}
    by_id = {o.op["operationId"]: o for o in theirs.operations() if "operationId" in o.op}
    report, compared, differences = Report(), set[str](), list[Difference]()
    for ours_op in mine.operations():
        match = by_path.get(ours_op.key) or by_id.get(ours_op.op.get("operationId", ""))
        if match is None:
            report.missing.append(ours_op.label)
            continue
        comparison = _Comparison(ours_op.label, mine, theirs)
        comparison.operation(ours_op, match)
        compared.add(ours_op.label)
        differences += comparison.found.values()
    used: set[Deviation] = set()
    for difference in differences:
        deviation = next((d for d in deviations if d.covers(difference)), None)
        if deviation is None:
            report.unlisted.append(difference)
        else:
            report.listed.append(difference)
            used.add(deviation)
    # An entry can only be stale for an operation that was compared this time.
    checked = [
        d for d in deviations if d.operation in compared or (d.operation == ANY_OPERATION and compared)
    ]
    report.stale = [d for d in checked if d not in used]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spec-diff", description=__doc__.split("\n\n")[0])
    parser.add_argument("upstream", type=Path, help="a Kalshi-published OpenAPI document (JSON or YAML)")
    parser.add_argument("--ours", type=Path, default=ROOT / "openapi.yaml")
    parser.add_argument("--deviations", type=Path, default=ROOT / "spec-deviations.yaml")
    args = parser.parse_args(argv)
    try:
        report = compare(
            load_document(args.ours), load_document(args.upstream), load_deviations(args.deviations)
        )
    except (OSError, ValueError, KeyError, yaml.YAMLError) as error:
        print(f"spec-diff: {error}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    if not report.ok:
        print(
            f"spec-diff: {len(report.unlisted)} unlisted difference(s), {len(report.stale)} stale deviation(s) "
            f"in {args.deviations.name}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
