"""``python -m kalshi_amend.options_table``: the amend's flags as a Markdown table.

Made from the same flags the command builds (from the generated code), so the README's
table can be regenerated after ``make generate`` instead of edited by hand.
"""

from __future__ import annotations

import argparse
import sys

from .cli import REFINEMENTS, build_command
from .model_flags import ModelFlag


def _usage(flag: ModelFlag) -> str:
    kwargs = flag.add_argument_kwargs
    if kwargs.get("action") is argparse.BooleanOptionalAction:
        return f"`{flag.option}` / `--no-{flag.option[2:]}`"
    if "choices" in kwargs:
        return f"`{flag.option} {'|'.join(str(choice) for choice in kwargs['choices'])}`"
    return f"`{flag.option} {kwargs.get('metavar', 'VALUE')}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown() -> str:
    command = build_command()
    rows = ["| flag | required | meaning |", "| --- | --- | --- |"]
    for flag in [*command.body_flags, *command.query_flags]:
        refinement = REFINEMENTS.get(flag.name)
        meaning = (refinement.help if refinement and refinement.help else None) or flag.description or ""
        where = "query parameter" if flag in command.query_flags else "body field"
        text = f"{_cell(meaning)} ({where} `{flag.name}`)"
        rows.append(f"| {_cell(_usage(flag))} | {'yes' if flag.required else ''} | {text} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
