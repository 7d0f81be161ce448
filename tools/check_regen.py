"""``make check-regen``: an additive change to openapi.yaml needs no hand edit anywhere else.

    python -m tools.check_regen [--tests "tests/spec tests/cli"] [--keep] [--from-head]

``make check-regen`` passes the Makefile's REGEN_TESTS as --tests.

In a copy of the repo (the working tree, or HEAD with --from-head; without .git, .venv and
caches) the spec gets, by component name:
  (a) an optional boolean request field, AmendOrderV2Request.regen_probe_flag;
  (b) an optional string response field on AmendOrderV2Response and on Order;
  (c) a new value of a response enum, OrderStatus "regen_probe_state";
  (d) a new GET operation with its own model, GET /regen-probe/status -> RegenProbeStatus.
The copy is regenerated with its own ``make generate``, its tests run against the copy's code
(a canary test fails if anything is imported from elsewhere), and a wheel is built from it.
Then, inside the copy, each addition is used: (a) through the library (the model, and a signed
amend through make_client/amend_order that the copy's local exchange must refuse naming the
field, which proves it was sent) and through ``python -m kalshi_amend`` (--help lists the flag,
a run with it reaches the exchange); (b), (c), (d) through ``auth_hooks.call`` against a stub
server that answers with the new field, value and operation. Each failure is one line naming
what would have needed a hand edit; exit 1 if there is any.
"""

from __future__ import annotations

import argparse
import contextlib
import copy as copying
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
# It runs the venv's installed kalshi-amend script, which is ROOT's editable install and
# not the copy: it proves nothing here (the copy's CLI is run by the usage checks instead).
DESELECTED = ("tests/cli/test_cli.py::test_the_installed_command_runs_without_traceback",)
SKIPPED = (
    ".git",
    ".venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".bench",
    "build",
)
SKIPPED_SUFFIXES = (".egg-info", ".pyc")

# The additions. Their names are used both to edit the copy's spec and to use the result.
# Probe names no real spec change would use, so that check-regen still works after a
# user adds a field of their own (post_only, say) to openapi.yaml.
REQUEST_MODEL, REQUEST_FIELD = "AmendOrderV2Request", "regen_probe_flag"
RESPONSE_MODELS, RESPONSE_FIELD = ("AmendOrderV2Response", "Order"), "regen_added_note"
# The enum is whichever schema Order.status uses (a component, an anyOf branch or inline).
ENUM_OWNER, ENUM_PROPERTY, ENUM_VALUE = "Order", "status", "regen_probe_state"
NEW_PATH, NEW_OPERATION, NEW_TAG = "/regen-probe/status", "GetRegenProbeStatus", "regen_probe"
NEW_MODULE = "kalshi_trade_api.api.regen_probe.get_regen_probe_status"
NEW_MODEL, NEW_MODEL_FIELD = "RegenProbeStatus", "trading_active"
CANARY = '''"""Planted by check-regen: fails if the tests import code from outside this copy."""
from pathlib import Path

import attrs


def test_check_regen_runs_against_the_copy() -> None:
    import auth_hooks
    import kalshi_amend
    import kalshi_trade_api
    import local_exchange
    from kalshi_trade_api.models import {model}

    root = Path(__file__).resolve().parents[1]
    for module in (auth_hooks, kalshi_amend, kalshi_trade_api, local_exchange):
        assert Path(module.__file__).resolve().is_relative_to(root), module.__file__
    assert "{field}" in attrs.fields_dict({model})
'''


# -- the spec edits --------------------------------------------------------------------


def _enum_schema(schemas: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """The schema holding the enum of a property: a $ref'd component, an anyOf branch or inline."""
    candidates: list[dict[str, Any]] = [
        prop,
        *prop.get("anyOf", []),
        *prop.get("oneOf", []),
        *prop.get("allOf", []),
    ]
    for candidate in candidates:
        if "$ref" in candidate:
            candidate = schemas[candidate["$ref"].rsplit("/", 1)[1]]
        if "enum" in candidate:
            return candidate
    raise KeyError(f"no enum in {prop}")


def add_additions(spec: dict[str, Any]) -> dict[str, Any]:
    """Applies the four additive changes to a loaded openapi.yaml, in place; returns it."""
    schemas = spec["components"]["schemas"]
    schemas[REQUEST_MODEL].setdefault("properties", {})[REQUEST_FIELD] = {
        "type": "boolean",
        "description": "Added by check-regen: only rest, never take liquidity.",
    }
    for model in RESPONSE_MODELS:
        schemas[model].setdefault("properties", {})[RESPONSE_FIELD] = {
            "type": "string",
            "description": "Added by check-regen: an optional note.",
        }
    enum: list[Any] = _enum_schema(schemas, schemas[ENUM_OWNER]["properties"][ENUM_PROPERTY])["enum"]
    enum.append(ENUM_VALUE)
    schemas[NEW_MODEL] = {
        "type": "object",
        "description": "Added by check-regen: whether the exchange is trading.",
        "required": [NEW_MODEL_FIELD],
        "properties": {NEW_MODEL_FIELD: {"type": "boolean", "description": "True while trading is open."}},
    }
    # Errors and security as the spec's first read (Get Order) has them, whatever they are;
    # copied, so the YAML written has no anchors.
    reads = [copying.deepcopy(item["get"]) for item in spec["paths"].values() if "get" in item]
    operation: dict[str, Any] = {
        "operationId": NEW_OPERATION,
        "summary": "Exchange status (added by check-regen)",
        "tags": [NEW_TAG],
        "responses": {
            "200": {
                "description": "The exchange's status.",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{NEW_MODEL}"}}},
            },
            **{
                code: r
                for read in reads[:1]
                for code, r in read.get("responses", {}).items()
                if str(code) != "200"
            },
        },
    }
    if reads and "security" in reads[0]:
        operation["security"] = reads[0]["security"]
    spec["paths"][NEW_PATH] = {"get": operation}
    tags = spec.setdefault("tags", [])
    if all(tag.get("name") != NEW_TAG for tag in tags):
        tags.append({"name": NEW_TAG, "description": "The exchange itself (added by check-regen)."})
    return spec


# -- the parent: copy, edit, regenerate, test, probe -----------------------------------


def _ignore(_directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name in SKIPPED or name.endswith(SKIPPED_SUFFIXES)}


def _copy_repo(target: Path, from_head: bool) -> None:
    if from_head:
        target.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    else:
        shutil.copytree(ROOT, target, ignore=_ignore, copy_function=shutil.copy2, symlinks=True)
    # The pinned generator, ruff and pytest: the copy uses this venv, as make would.
    (target / ".venv").symlink_to(ROOT / ".venv")


def copy_environment(copy: Path) -> dict[str, str]:
    """The copy's code first on the path, so the venv's editable install of ROOT cannot shadow it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MAKE", "MFLAGS"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(copy), str(copy / "generated")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(step: str, command: list[str], copy: Path, env: dict[str, str], timeout: float = 300) -> str | None:
    """None when the command succeeds, else a failure line with the end of its output."""
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"{step}: did not finish in {timeout:.0f} s"
    if done.returncode == 0:
        return None
    lines = (done.stdout + done.stderr).strip().splitlines()
    # pytest's summary names each failed test on one line; anything else shows its last lines.
    failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    shown = failed or lines[-15:]
    return f"{step}: failed (exit {done.returncode})\n" + "\n".join(f"    {line}" for line in shown)


def _wheel_has_new_module(copy: Path, env: dict[str, str], out: Path) -> str | None:
    """A user installs the package, not the tree: the new operation's module must be in the wheel."""
    failed = _run(
        "building a wheel of the regenerated copy",
        [
            str(VENV_BIN / "python"),
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        copy,
        {**env, "PYTHONWARNINGS": "ignore"},
    )
    if failed:
        return failed
    wanted = NEW_MODULE.replace(".", "/") + ".py"
    for wheel in out.glob("*.whl"):
        if wanted in zipfile.ZipFile(wheel).namelist():
            return None
    return (
        f"(d) new operation {NEW_OPERATION}: {wanted} is missing from the built wheel "
        "(pyproject.toml lists the packages by hand; a new tag is a new package)"
    )


def check(tests: str, keep: bool, from_head: bool) -> list[tuple[bool, str]]:
    """(passed, what) for each step and each use of an addition, in order."""
    work = Path(tempfile.mkdtemp(prefix="check-regen-"))
    copy = work / "repo"
    try:
        _copy_repo(copy, from_head)
        spec_path = copy / "openapi.yaml"
        spec = add_additions(yaml.safe_load(spec_path.read_text(encoding="utf-8")))
        spec_path.write_text(
            yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
        )
        env = copy_environment(copy)
        # -o: the venv is shared and already set up; never re-install into it from here.
        step = "make generate in the copy, with the additions in its openapi.yaml"
        failed = _run(step, ["make", "-o", ".venv/.deps-installed", "generate"], copy, env)
        if failed:
            return [(False, failed)]
        results = [(True, step)]
        canary = copy / "tests" / "test_check_regen_canary.py"
        canary.write_text(CANARY.format(model=REQUEST_MODEL, field=REQUEST_FIELD), encoding="utf-8")
        pytest = [str(VENV_BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        pytest += [f"--deselect={test}" for test in DESELECTED]
        step = f"the copy's tests, run on the copy's code: {tests}"
        failed = _run(step, [*pytest, str(canary), *tests.split()], copy, env)
        results.append((failed is None, failed or step))
        failed = _wheel_has_new_module(copy, env, work / "wheel")
        results.append((failed is None, failed or f"a wheel built from the copy holds {NEW_MODULE}"))
        # This file runs as a script (its own directory first on sys.path, not ROOT), so
        # everything the usage checks import comes from the copy.
        probe = subprocess.run(
            [str(VENV_BIN / "python"), str(Path(__file__).resolve()), "--probe", str(copy)],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for line in probe.stdout.splitlines():
            verdict, _, what = line.partition("\t")
            if verdict in ("ok", "FAIL"):
                results.append((verdict == "ok", what))
        if probe.returncode != 0:
            tail = probe.stderr.strip()[-2000:]
            results.append((False, f"the usage checks crashed (exit {probe.returncode}): {tail}"))
        return results
    finally:
        if keep:
            print(f"check-regen: the copy is kept at {copy}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


# -- the probe: runs inside the copy, with the copy's regenerated code -----------------


def _example(schema: Any, schemas: dict[str, Any]) -> Any:
    """A value that fits a schema of the copy's spec (its own example where it has one)."""
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return _example(
            {**schemas[schema["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in schema.items() if k != "$ref"}},
            schemas,
        )
    for branch in [*schema.get("allOf", []), *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        if branch.get("type") != "null":
            return _example(branch, schemas)
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "object":
        return {name: _example(schema["properties"][name], schemas) for name in schema.get("required", [])}
    return {"string": "x", "integer": 1, "number": 1, "boolean": True, "array": []}.get(str(kind))


class _Stub(BaseHTTPRequestHandler):
    """Answers every GET/POST with the JSON body registered for the end of its path."""

    answers: ClassVar[dict[str, Any]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        key = next((k for k in self.answers if self.path.split("?")[0].endswith(k)), None)
        body = json.dumps(self.answers[key] if key else {"error": {"code": "not_found"}}).encode()
        self.send_response(200 if key else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _stub_server(answers: dict[str, Any]) -> Iterator[str]:
    handler = type("Stub", (_Stub,), {"answers": answers})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/trade-api/v2"
    finally:
        server.shutdown()
        server.server_close()


def _attempt(what: str, action: Callable[[], str | None]) -> None:
    """Runs one use of an addition and prints its verdict at once (a later crash keeps it)."""
    try:
        problem = action()
    except Exception as error:  # any breakage is a finding, reported with its type
        problem = f"{type(error).__name__}: {error}"
    verdict = f"FAIL\t{what}: {' '.join(problem.split())}" if problem else f"ok\t{what}"
    print(verdict, flush=True)


def _probe(root: Path) -> None:
    """Uses each addition in the regenerated copy at ``root`` (imports resolve to the copy)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from kalshi_trade_api import models

    import auth_hooks
    from local_exchange import Exchange, serve

    private = ed25519.Ed25519PrivateKey.generate()
    auth = auth_hooks.KalshiAuth("check-regen-key", private)
    ticker = "CHECKREGEN-26DEC-T1"
    # Any: the new field exists only in the copy's regenerated model, not in the one mypy sees.
    request_model: Any = models.AmendOrderV2Request
    fields = {"ticker": ticker, "side": models.BookSide("bid"), "price": "0.4100", "count": "5.00"}

    def with_field() -> Any:
        return request_model(**fields, **{REQUEST_FIELD: True})

    def in_model() -> str | None:
        sent = with_field().to_dict()
        return None if sent.get(REQUEST_FIELD) is True else f"to_dict() gave {sent}"

    _attempt(f"(a) request field {REQUEST_MODEL}.{REQUEST_FIELD} in the model", in_model)

    exchange = Exchange()
    exchange.add_market(ticker)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    exchange.add_account(auth.key_id, public)
    order_id = exchange.place_order(auth.key_id, ticker, "bid", "0.40", "5")
    key_path = root.parent / "check-regen-key.pem"
    key_path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    with serve(exchange) as server:
        ca = getattr(server, "ca_path", None)  # set when the exchange serves TLS

        def signed_amend() -> str | None:
            # The local exchange refuses a field it does not model with a 400 naming it: that
            # answer proves the field was on the wire of a correctly signed request.
            client = auth_hooks.make_client(auth, base_url=server.base_url, verify=str(ca) if ca else True)
            try:
                auth_hooks.amend_order(client, order_id, with_field())
            except auth_hooks.Rejected as refused:
                if refused.status == 400 and REQUEST_FIELD in f"{refused.message} {refused.body!r}":
                    return None
                return f"the exchange answered {refused.status} without naming it: {refused.message}"
            return "the local exchange applied the amend without refusing or modelling the field"

        cli = [sys.executable, "-m", "kalshi_amend"]
        option = "--" + REQUEST_FIELD.replace("_", "-")

        def cli_help() -> str | None:
            text = subprocess.run([*cli, "--help"], capture_output=True, text=True, timeout=60).stdout
            missing = [o for o in (option, "--no-" + option[2:]) if o not in text]
            return f"kalshi-amend --help lacks {', '.join(missing)}" if missing else None

        def cli_run() -> str | None:
            env = {**os.environ, "KALSHI_API_KEY_ID": auth.key_id, "KALSHI_PRIVATE_KEY_PATH": str(key_path)}
            args = [order_id, "--ticker", ticker, "--side", "bid", "--price", "0.41", "--count", "5", option]
            args += ["--base-url", server.base_url, *(["--ca-file", str(ca)] if ca else [])]
            done = subprocess.run([*cli, *args], capture_output=True, text=True, timeout=60, env=env)
            if done.returncode == 1 and REQUEST_FIELD in done.stderr:
                return None
            return f"kalshi-amend {option} exited {done.returncode}: {done.stderr.strip()[-300:]}"

        _attempt(
            f"(a) request field {REQUEST_FIELD} on the wire (signed amend to the local exchange)",
            signed_amend,
        )
        _attempt(f"(a) request field {REQUEST_FIELD} as a CLI flag (python -m kalshi_amend --help)", cli_help)
        _attempt(f"(a) request field {REQUEST_FIELD} through the CLI to the local exchange", cli_run)

    _use_response_additions(root, auth, order_id, lambda: request_model(**fields))


def _use_response_additions(root: Path, auth: Any, order_id: str, body: Callable[[], Any]) -> None:
    """(b), (c), (d) against a stub answering with what the local exchange does not send."""
    import auth_hooks

    schemas = yaml.safe_load((root / "openapi.yaml").read_text(encoding="utf-8"))["components"]["schemas"]
    order = {**_example(schemas[ENUM_OWNER], schemas), ENUM_PROPERTY: ENUM_VALUE, RESPONSE_FIELD: "note"}
    answers = {
        "/amend": {"order_id": order_id, "ts_ms": int(time.time() * 1000), RESPONSE_FIELD: "note"},
        f"/orders/{order_id}": {"order": order},
        NEW_PATH: {NEW_MODEL_FIELD: True},
    }
    with _stub_server(answers) as base_url:
        client = auth_hooks.make_client(auth, base_url=base_url)

        def amend_response_field() -> str | None:
            got = getattr(auth_hooks.amend_order(client, order_id, body()), RESPONSE_FIELD, None)
            return None if got == "note" else f"amend_order's result has {RESPONSE_FIELD}={got!r}"

        def read_order() -> Any:
            get_order = importlib.import_module("kalshi_trade_api.api.orders.get_order")
            return auth_hooks.call(get_order.sync_detailed, order_id, client=client).order

        def order_field() -> str | None:
            got = getattr(read_order(), RESPONSE_FIELD, None)
            return None if got == "note" else f"Order.{RESPONSE_FIELD} read as {got!r}"

        def order_enum() -> str | None:
            got = getattr(read_order(), ENUM_PROPERTY)
            return None if got == ENUM_VALUE else f"Order.{ENUM_PROPERTY} read as {got!r}"

        def new_operation() -> str | None:
            result = auth_hooks.call(importlib.import_module(NEW_MODULE).sync_detailed, client=client)
            if type(result).__name__ != NEW_MODEL or getattr(result, NEW_MODEL_FIELD, None) is not True:
                return f"call() gave {result!r}"
            return None

        where = "AmendOrderV2Response"
        _attempt(f"(b) response field {where}.{RESPONSE_FIELD} through amend_order", amend_response_field)
        _attempt(f"(b) response field Order.{RESPONSE_FIELD} through call(get_order)", order_field)
        _attempt(f"(c) enum value Order.{ENUM_PROPERTY}={ENUM_VALUE!r} through call(get_order)", order_enum)
        _attempt(f"(d) new operation {NEW_OPERATION} through call() on a make_client client", new_operation)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check-regen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", default="tests", help="pytest arguments for the copy (make: REGEN_TESTS)")
    parser.add_argument("--keep", action="store_true", help="keep the copy and print where it is")
    parser.add_argument("--from-head", action="store_true", help="copy the last commit, not the working tree")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # the copy to use the additions in
    args = parser.parse_args(argv)
    if args.probe:
        _probe(args.probe.resolve())
        return 0
    started = time.monotonic()
    results = check(args.tests, args.keep, args.from_head)
    for passed, what in results:
        print(f"check-regen: {'ok' if passed else 'FAIL'}: {what}")
    failures = sum(not passed for passed, _ in results)
    summary = (
        f"{failures} failure(s): each would have needed a hand edit" if failures else "no hand edit needed"
    )
    print(f"check-regen: {summary} ({time.monotonic() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
