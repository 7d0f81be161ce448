"""Which outcome class an answer, or its absence, belongs to: by status and by method.

Knows no operation. The split that matters is where a request failed and what it was:

* before any byte left: :class:`NotSent` (the transport says so, see
  :func:`~auth_hooks.transports.never_sent`);
* a 4xx: :class:`Rejected`, or the subclass for its status;
* anything else after sending (timeout, lost connection, 5xx, an answer that cannot
  be read): for a write, :class:`OutcomeUnknown` (it may have been applied); for a
  read (GET), :class:`ReadFailed` (a read changes nothing at the exchange).

What a 200 of an operation must hold comes from that operation's generated model:
:func:`model_problem` checks a parsed model against its own attrs field types, where
:mod:`auth_hooks.call` parses it.
"""

from __future__ import annotations

import enum
import json
import sys
import threading
import types
import typing
from http import HTTPStatus
from typing import Any

import attrs
import httpx

from .errors import (
    REJECTED_BY_STATUS,
    NotSent,
    OutcomeUnknown,
    ReadFailed,
    Rejected,
    RequestOutcome,
    error_code_and_message,
    preview,
)
from .transports import never_sent

MAYBE_APPLIED = "it may have been applied; nothing was re-sent"
NOTHING_CHANGED = "a read changes nothing at the exchange; it may be sent again"
# Methods that change nothing at the exchange (RFC 9110 "safe" methods).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The statuses the generated code can read (it builds an HTTPStatus from the code): any
# other, such as Cloudflare's 520, is classified by the response hook instead.
_IANA_STATUSES = frozenset(status.value for status in HTTPStatus)
# Set on requests whose answer auth_hooks.call classifies itself (the hook then only
# guards what the generated code would crash on).
CLASSIFIED_BY_CALLER = "auth_hooks.classified_by_caller"


def is_read(method: str) -> bool:
    return method.upper() in READ_METHODS


def outcome_for_status(status: int, body: bytes, *, method: str, reason: str | None = None) -> RequestOutcome:
    """The outcome class of an answer that is not a readable 2xx: 4xx rejected, else unknown/failed."""
    try:
        code, message = error_code_and_message(body)
    except RecursionError:  # JSON nested too deep for the parser: not an error body we know
        code, message = None, preview(body)
    text = reason or f"HTTP {status} {code or '-'}: {message or preview(body) or '(empty body)'}"
    if 400 <= status < 500:
        cls: type[RequestOutcome] = REJECTED_BY_STATUS.get(status, Rejected)
    else:
        cls = ReadFailed if is_read(method) else OutcomeUnknown
        text = f"{text} ({NOTHING_CHANGED if is_read(method) else MAYBE_APPLIED})"
    return cls(text, status=status, body=body, code=code, message=message)


def outcome_for_unreadable(status: int, body: bytes, problem: str, *, method: str) -> RequestOutcome:
    """A 2xx whose body the operation's model cannot take."""
    if is_read(method):
        return ReadFailed(f"HTTP {status} {problem}: {NOTHING_CHANGED}", status=status, body=body)
    return OutcomeUnknown(
        f"HTTP {status} {problem}: applied, but its result cannot be read; check the order",
        status=status,
        body=body,
    )


def outcome_for_transport_error(exc: httpx.HTTPError, *, method: str) -> RequestOutcome:
    """NotSent when the request cannot have left; otherwise unknown (write) or failed (read)."""
    what = f"{type(exc).__name__}: {preview(str(exc)) or 'connection lost'}"
    if never_sent(exc):
        return NotSent(f"not sent: {what}; safe to send again")
    if is_read(method):
        return ReadFailed(f"no answer: {what} ({NOTHING_CHANGED})")
    return OutcomeUnknown(f"no answer: {what} ({MAYBE_APPLIED})")


def outcome_for_unexpected(exc: Exception, *, method: str) -> RequestOutcome:
    """Any other exception while the request was being sent or answered.

    It may have happened after the request left, so a write's answer is "unknown",
    never "not sent".
    """
    what = f"unexpected {type(exc).__name__}: {preview(str(exc))}"
    if is_read(method):
        return ReadFailed(f"{what} ({NOTHING_CHANGED})")
    return OutcomeUnknown(f"{what} ({MAYBE_APPLIED})")


# -- the response hook of every client make_client builds --------------------------


def read_and_check(response: httpx.Response) -> None:
    response.read()
    check_response(response)


async def aread_and_check(response: httpx.Response) -> None:
    await response.aread()
    check_response(response)


def check_response(response: httpx.Response) -> None:
    """Raises the outcome class for an answer the generated code would crash on.

    Runs with the body read, for every request through a make_client client's httpx
    clients (not the direct route of :mod:`auth_hooks.call`, which classifies its answers
    itself). Requests made through :mod:`auth_hooks.call` are classified there in full;
    this guards direct calls of the generated functions: a status outside the IANA list (Cloudflare's 520)
    makes the generated code raise ValueError, and every answer of Kalshi's API is a
    JSON object, so a body that is not one (an HTML page from a proxy, a cut body) is
    not the exchange's answer.
    """
    status = response.status_code
    method = response.request.method
    if status not in _IANA_STATUSES:
        raise outcome_for_status(status, response.content, method=method)
    if response.request.extensions.get(CLASSIFIED_BY_CALLER):
        return
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise outcome_for_status(
            status,
            response.content,
            method=method,
            reason=f"HTTP {status} with a body that is not a JSON object: {preview(response.content)}",
        )


# -- what a parsed model must hold: its own attrs field types ----------------------

_HINTS: dict[type, dict[str, Any]] = {}
_HINTS_LOCK = threading.Lock()


def model_problem(instance: object, where: str = "") -> str | None:
    """What in a parsed generated model breaks the model's own field types, or None.

    The generated ``from_dict`` raises on a missing required field or an unknown value
    of a required enum, but casts everything else without checking: a 200 whose
    ``ts_ms`` is a string would come back as a model that lies about its types. This
    walks the model's attrs fields against their annotations (nested models and lists
    included). An unknown value of an optional enum stays a plain string, as
    ``from_dict`` leaves it: the exchange may add values before the spec has them.
    """
    for name, allowed, refuse_bool, hint in _plan(type(instance)):
        value = getattr(instance, name)
        if allowed is not None:  # a plain type or a union of plain types: one isinstance
            if isinstance(value, allowed) and not (refuse_bool and type(value) is bool):
                continue
            return f"with {where}{name} of JSON type {_json_type(value)}"
        problem = _value_problem(value, hint, f"{where}{name}")
        if problem:
            return problem
    return None


# Per model class, per field: (name, the types a plain field allows or None for a
# nested model or list, whether a bool must be refused where an int is allowed, hint).
_Step = tuple[str, "tuple[type, ...] | None", bool, Any]
_PLANS: dict[type, list[_Step]] = {}


def _plan(cls: type) -> list[_Step]:
    """How to check each field of ``cls``, worked out once: the check runs on every 2xx."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = []
        for name, hint in field_hints(cls).items():
            origin = typing.get_origin(hint)
            options = (
                typing.get_args(hint) if origin is typing.Union or origin is types.UnionType else (hint,)
            )
            plain = all(
                isinstance(option, type) and typing.get_origin(option) is None and not attrs.has(option)
                for option in options
            )
            if not plain:
                plan.append((name, None, False, hint))
                continue
            allowed: set[type] = set(options)
            for option in options:
                if issubclass(option, enum.Enum):
                    allowed.add(str)  # an unknown value of an optional enum stays a string
                if option is float:
                    allowed.add(int)
            plan.append((name, tuple(allowed), bool not in options, hint))
        with _HINTS_LOCK:
            _PLANS[cls] = plan
    return plan


def field_hints(cls: type) -> dict[str, Any]:
    """The resolved type of each init field of an attrs model (cached per class)."""
    hints = _HINTS.get(cls)
    if hints is None:
        # Generated models import the models they nest under TYPE_CHECKING only: resolve
        # their names in the models package, which exports every model.
        package = sys.modules.get(cls.__module__.rpartition(".")[0])
        resolved = typing.get_type_hints(cls, localns=vars(package) if package else None)
        hints = {field.name: resolved[field.name] for field in attrs.fields(cls) if field.init}
        with _HINTS_LOCK:
            _HINTS[cls] = hints
    return hints


def _value_problem(value: Any, hint: Any, where: str) -> str | None:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(hint)
        if any(_value_problem(value, option, where) is None for option in options):
            return None
        return f"with {where} of JSON type {_json_type(value)}"
    if hint is type(None):
        return None if value is None else f"with {where} not null"
    if origin is list:
        if not isinstance(value, list):
            return f"with {where} of JSON type {_json_type(value)}"
        (item,) = typing.get_args(hint) or (Any,)
        for index, element in enumerate(value):
            problem = _value_problem(element, item, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if origin is dict:
        return None if isinstance(value, dict) else f"with {where} of JSON type {_json_type(value)}"
    if hint is Any or not isinstance(hint, type):
        return None
    if issubclass(hint, enum.Enum):
        return None if isinstance(value, hint | str) else f"with {where} of JSON type {_json_type(value)}"
    if attrs.has(hint):
        if not isinstance(value, hint):
            return f"with {where} of JSON type {_json_type(value)}"
        return model_problem(value, f"{where}.")
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint)
    return None if ok else f"with {where} of JSON type {_json_type(value)}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
