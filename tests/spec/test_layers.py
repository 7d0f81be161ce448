"""The hook layer knows no operation: signing, keys, the clock, the transports, the clients
make_client builds and the classification import no generated operation module and no
generated model. What an operation needs comes from the generated code where that
operation is called (auth_hooks.call, and the amend, resolve and warm-up modules)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HOOKS = Path(__file__).resolve().parents[2] / "auth_hooks"
HOOK_LAYER = [
    "auth.py",
    "signing.py",
    "keys.py",
    "clock.py",
    "presign.py",
    "transports.py",
    "http11.py",
    "wire.py",
    "wire_async.py",
    "lane.py",
    "httpcore_transport.py",
    "aiohttp_transport.py",
    "httpx_clients.py",
    "client.py",
    "classify.py",
    "errors.py",
]


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("name", HOOK_LAYER)
def test_the_hook_layer_imports_no_operation_and_no_model(name: str) -> None:
    modules = imported_modules(HOOKS / name)
    assert not [m for m in modules if m.startswith(("kalshi_trade_api.api", "kalshi_trade_api.models"))]


def test_every_module_of_auth_hooks_is_placed() -> None:
    # A new module must say which side it is on (add it above if it is hook layer).
    operation_users = {
        "__init__.py",
        "call.py",
        "outcomes.py",
        "resolve.py",
        "warmup.py",
        "fixed_point.py",
        "ratelimit.py",
    }
    assert {p.name for p in HOOKS.glob("*.py")} == set(HOOK_LAYER) | operation_users
