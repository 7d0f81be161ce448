"""Command-line flags derived from the generated code, so a spec change needs no CLI edit.

The generated request model (an attrs class) gives each body field's name, type and
whether it is required; its docstring's ``Attributes:`` section gives the spec's
description of each field. The generated operation's signature gives its query
parameters (its docstring's ``Args:`` section their descriptions). Nothing here reads
openapi.yaml or names a field: after ``make generate`` a new field is a new flag.

Types become flags the way a shell user expects: ``bool`` as ``--name`` / ``--no-name``,
an enum as a choice of its values, ``int``/``float``/``str`` as themselves, a list as a
repeatable flag, a date-time as ISO 8601, and anything else (a nested object) as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from kalshi_trade_api import models as generated_models
from kalshi_trade_api.types import Unset

Convert = Callable[[Any], Any]


@attrs.frozen
class ModelFlag:
    """One flag: where its value goes (``name`` in the body or the query) and how."""

    name: str  # the field or parameter name, as the generated code spells it
    option: str  # "--field-name"
    dest: str  # unique attribute of the argparse namespace
    required: bool
    description: str | None
    add_argument_kwargs: Mapping[str, Any]
    convert: Convert  # argparse's value -> the value the generated code takes

    def add_to(self, parser: argparse._ActionsContainer, help_text: str | None = None) -> None:
        text = help_text if help_text is not None else self.description
        kwargs = dict(self.add_argument_kwargs)
        if self.required:
            kwargs["required"] = True
        # argparse %-formats help strings: a "%" in the spec's prose must not break --help.
        parser.add_argument(
            self.option, dest=self.dest, help=text.replace("%", "%%") if text else None, **kwargs
        )


# -- descriptions from the generated docstrings ---------------------------------------

_ENTRY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<type>.*?)\))?\s*:(?:\s+(?P<text>.*))?")


def docstring_section(doc: str | None, section: str) -> dict[str, str]:
    """``name -> description`` from a Google-style section ("Attributes", "Args") of ``doc``.

    Entries are ``name (type): text`` at one indentation; deeper lines continue the
    entry before them. Unparseable lines are skipped rather than trusted.
    """
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = [line.strip() for line in lines].index(f"{section}:")
    except ValueError:
        return {}
    found: dict[str, list[str]] = {}
    indent: int | None = None
    current: list[str] | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent:
            break  # the section ended: the next "Section:" header, or the text after it
        if depth == indent:
            match = _ENTRY.fullmatch(line.strip())
            current = None
            if match:
                current = found.setdefault(match["name"], [])
                if match["text"]:
                    current.append(match["text"].strip())
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(parts) for name, parts in found.items() if parts}


def field_descriptions(model: type) -> dict[str, str]:
    """The spec's description of each field, from the docstrings along the class's MRO."""
    descriptions: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        descriptions.update(docstring_section(cls.__doc__, "Attributes"))
    return descriptions


# -- flags from types -------------------------------------------------------------------


def _optional_parts(annotation: Any) -> list[Any]:
    """The members of ``annotation`` that carry a value (Unset and None dropped)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = list(typing.get_args(annotation))
    else:
        members = [annotation]
    return [member for member in members if member not in (Unset, type(None))]


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not valid JSON: {text!r}") from None


def _scalar(annotation: Any) -> tuple[dict[str, Any], Convert]:
    """argparse keywords and a converter for one value of ``annotation``."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        enum_type: type[enum.Enum] = annotation
        values = [member.value for member in enum_type]
        value_type = type(values[0]) if values else str
        return {"choices": values, "type": value_type}, enum_type
    if annotation in (int, float, str):
        return {"type": annotation}, _same
    if annotation is datetime.datetime:
        return {"type": datetime.datetime.fromisoformat, "metavar": "ISO8601"}, _same
    if annotation is datetime.date:
        return {"type": datetime.date.fromisoformat, "metavar": "YYYY-MM-DD"}, _same
    from_dict = getattr(annotation, "from_dict", None)
    if callable(from_dict):  # a generated model: its JSON object
        return {"type": _json_value, "metavar": "JSON"}, from_dict
    return {"type": _json_value, "metavar": "JSON"}, _same


def _same(value: Any) -> Any:
    return value


def _flag_for(annotation: Any) -> tuple[dict[str, Any], Convert]:
    """argparse keywords and a converter for a field typed ``annotation``."""
    parts = _optional_parts(annotation)
    if len(parts) != 1:  # a oneOf the shell cannot tell apart: the caller writes its JSON
        return {"type": _json_value, "metavar": "JSON"}, _same
    (kind,) = parts
    if kind is bool:
        return {"action": argparse.BooleanOptionalAction}, _same
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind) or (str,)
        kwargs, convert_item = _scalar(item)

        def convert_list(values: list[Any]) -> list[Any]:
            return [convert_item(value) for value in values]

        return {**kwargs, "action": "append"}, convert_list
    return _scalar(kind)


def _make_flag(
    where: str, name: str, annotation: Any, required: bool, description: str | None, taken: set[str]
) -> ModelFlag:
    option = "--" + name.replace("_", "-")
    if option in taken:
        # A field named like one of the command's own options (--timeout, --env) gets a
        # prefix rather than breaking the command or shadowing the option.
        option = f"--{where}-{option[2:]}"
    taken.add(option)
    kwargs, convert = _flag_for(annotation)
    if "action" not in kwargs and "choices" not in kwargs:
        kwargs.setdefault("metavar", name.upper())
    return ModelFlag(name, option, f"{where}.{name}", required, description, kwargs, convert)


def _field_types(model: type) -> dict[str, Any]:
    """The model's resolved annotations.

    Generated models import the models they nest only under TYPE_CHECKING (to avoid
    import cycles), so their names are looked up in the models package as well.
    """
    return typing.get_type_hints(model, localns=dict(vars(generated_models)))


def body_flags(model: type, taken: Iterable[str] = ()) -> list[ModelFlag]:
    """One flag per init field of the generated attrs ``model``, required ones first."""
    hints = _field_types(model)
    descriptions = field_descriptions(model)
    taken_options = set(taken)
    flags = [
        _make_flag(
            "body",
            field.name,
            hints.get(field.name, str),
            field.default is attrs.NOTHING,
            descriptions.get(field.name),
            taken_options,
        )
        for field in attrs.fields(model)
        if field.init  # not additional_properties
    ]
    return sorted(flags, key=lambda flag: not flag.required)


def query_flags(
    operation: Callable[..., Any], skip: Iterable[str] = ("client", "body"), taken: Iterable[str] = ()
) -> list[ModelFlag]:
    """One flag per keyword-only parameter of a generated operation (its query parameters).

    Path parameters (positional) and ``skip`` are the caller's business.
    """
    hints = typing.get_type_hints(operation)
    descriptions = docstring_section(operation.__doc__, "Args")
    skipped = set(skip)
    taken_options = set(taken)
    return [
        _make_flag(
            "query",
            parameter.name,
            hints.get(parameter.name, str),
            parameter.default is inspect.Parameter.empty,
            descriptions.get(parameter.name),
            taken_options,
        )
        for parameter in inspect.signature(operation).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.name not in skipped
    ]


class FlagValueError(ValueError):
    """A flag's value the generated code cannot take; the message names the flag."""


def values_of(flags: Iterable[ModelFlag], args: argparse.Namespace) -> dict[str, Any]:
    """``name -> converted value`` for each flag given on the command line."""
    values = {}
    for flag in flags:
        raw = getattr(args, flag.dest)
        if raw is None:
            continue
        try:
            values[flag.name] = flag.convert(raw)
        except Exception as exc:  # a generated from_dict raises KeyError, TypeError, ...
            raise FlagValueError(f"{flag.option}: not a valid value: {type(exc).__name__}: {exc}") from None
    return values
