"""openapi-core glue: every request and response of the endpoint is checked against
openapi.yaml, so the local exchange and the spec cannot drift apart.

The spec is parsed and checked once per process (it takes a while) and shared.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.exceptions import ParameterValidationError

# Inside the package, so an installed local_exchange has its spec: in the repository a
# symlink to the one openapi.yaml at the top, in a wheel a copy of it.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"

# The spec's servers are Kalshi's hosts. The local exchange serves the same paths under
# the same prefix on loopback, so it validates against a host-less server instead.
LOCAL_SERVER_URL = "/trade-api/v2"
_ANY_HOST = "http://local-exchange"


@functools.lru_cache(maxsize=4)
def load_spec(path: Path = DEFAULT_SPEC_PATH) -> OpenAPI:
    """The parsed spec, with its servers replaced by `LOCAL_SERVER_URL` (in memory only)."""
    if not path.is_file():
        raise FileNotFoundError(f"OpenAPI spec not found at {path}")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["servers"] = [{"url": LOCAL_SERVER_URL}]
    return OpenAPI.from_dict(document)


def integer_body_fields(operation_id: str, path: Path = DEFAULT_SPEC_PATH) -> frozenset[str]:
    """The top-level request body fields the spec types as integers, for one operation.

    JSON Schema counts 1.0 as an integer; Kalshi's decoder does not. Read from the spec,
    so an integer field added to it is held to the same rule with no edit here.
    """
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                content = operation.get("requestBody", {}).get("content", {})
                schema = _resolved(document, content.get("application/json", {}).get("schema", {}))
                return frozenset(
                    name
                    for name, prop in schema.get("properties", {}).items()
                    if "integer" in _types(_resolved(document, prop))
                )
    return frozenset()


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    found = set(declared) if isinstance(declared, list) else {declared} if declared else set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _types(option)
    return found


@dataclass
class SpecRequest:
    """A request as openapi-core wants it (its `Request` protocol)."""

    method: str  # lower case, as openapi-core expects
    path: str  # the raw path: percent-encoded ids stay one path segment
    parameters: RequestParameters
    content_type: str
    body: bytes | None
    host_url: str = _ANY_HOST

    @classmethod
    def build(
        cls,
        *,
        method: str,
        raw_path: str,
        query: Mapping[str, Any],
        headers: Mapping[str, str],
        content_type: str,
        body: bytes | None,
    ) -> SpecRequest:
        parameters = RequestParameters(query=query, header=headers)
        return cls(method.lower(), raw_path, parameters, content_type, body)


@dataclass
class SpecResponse:
    """A response as openapi-core wants it (its `Response` protocol)."""

    status_code: int
    content_type: str
    headers: Mapping[str, str]
    data: bytes


class ProblemKind(StrEnum):
    NO_OPERATION = "no_operation"  # path or method not in the spec
    QUERY = "query"  # a query parameter (Kalshi answers these with a bare {"msg"})
    OTHER = "other"  # body, path parameters, headers


@dataclass(frozen=True)
class RequestProblem:
    kind: ProblemKind
    message: str


class SpecValidator:
    def __init__(self, spec_path: Path = DEFAULT_SPEC_PATH) -> None:
        self.spec_path = spec_path
        self._api = load_spec(spec_path)

    def check_request(self, request: SpecRequest) -> RequestProblem | None:
        """The first thing wrong with the request, in words a client can act on."""
        errors = list(self._api.iter_apicall_request_errors(request))
        if not errors:
            return None
        if any(isinstance(e, PathError) for e in errors):
            return RequestProblem(ProblemKind.NO_OPERATION, _describe(errors))
        query = [e for e in errors if isinstance(e, ParameterValidationError) and e.location == "query"]
        if query:
            return RequestProblem(ProblemKind.QUERY, _describe(query))
        return RequestProblem(ProblemKind.OTHER, _describe(errors))

    def check_response(self, request: SpecRequest, response: SpecResponse) -> str | None:
        """Why the response breaks the spec, or None. Any answer here is a bug."""
        errors = list(self._api.iter_apicall_response_errors(request, response))
        return _describe(errors) if errors else None


def _describe(errors: Iterable[BaseException]) -> str:
    return "; ".join(_describe_one(e) for e in errors)


def _describe_one(error: BaseException) -> str:
    """openapi-core hides the useful part (the JSON Schema errors) in the cause."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        name = getattr(error, "name", None)
        return "; ".join(_describe_schema_error(e, name) for e in schema_errors)
    if cause is not None:
        return f"{error}: {cause}"
    return str(error)


def _describe_schema_error(error: Any, name: str | None) -> str:
    location = ".".join(str(part) for part in getattr(error, "absolute_path", ()))
    where = location or name
    message = str(getattr(error, "message", error))
    return f"{where}: {message}" if where else message
