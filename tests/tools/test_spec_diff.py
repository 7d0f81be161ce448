"""spec-diff against small upstream documents written for these tests (a made-up widget API)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tools import spec_diff
from tools.spec_diff import Deviation, compare, load_document

FIXTURES = Path(__file__).parent / "fixtures"
OURS = load_document(FIXTURES / "ours.yaml")
SAME_30 = load_document(FIXTURES / "upstream-same-3.0.yaml")
CHANGED_31 = load_document(FIXTURES / "upstream-changed-3.1.json")
REPO = Path(__file__).resolve().parents[2]
KALSHI_EXCERPT = REPO.parent / "shared" / "reference" / "kalshi-openapi-3.31.0-amend-v2-excerpt.yaml"


def _listed_409() -> Deviation:
    return Deviation("PolishWidget", "response 409", "only in ours", "we answer conflicts")


def test_3_0_spelling_of_the_same_api_differs_only_where_it_really_does() -> None:
    # nullable: true (beside a $ref too), allOf wrappers, other names, an int status code.
    report = compare(OURS, SAME_30, [])
    assert report.lines() == [
        "GetWidget: not in the upstream document",
        "PolishWidget: response 409: only in ours",
    ]
    assert not report.ok


def test_every_kind_of_difference_is_one_line() -> None:
    report = compare(OURS, CHANGED_31, [_listed_409()])
    assert report.lines() == [
        "GetWidget: not in the upstream document",
        "listed: PolishWidget: response 409: only in ours",
        "PolishWidget: parameter query shard: required: ours false, upstream true",
        "PolishWidget: PolishRequest.coats: required: ours false, upstream true",
        "PolishWidget: PolishRequest.coats: format: ours int32, upstream int64",
        "PolishWidget: PolishRequest.rush: only upstream",
        "PolishWidget: PolishRequest.shine: enum: ours [gloss, matte], upstream [gloss, matte, satin]",
        "PolishWidget: PolishResult.cost: nullable: ours true, upstream false",
        "PolishWidget: PolishResult.finished_at: format: ours none, upstream date-time",
        "PolishWidget: Layer.shine: enum: ours [gloss, matte], upstream [gloss, matte, satin]",
        "PolishWidget: Layer.thickness: type: ours number, upstream string",
        "PolishWidget: response 404: only upstream",
    ]


def test_listed_deviations_pass_and_an_operation_missing_upstream_is_no_failure() -> None:
    report = compare(OURS, SAME_30, [_listed_409()])
    assert report.lines() == [
        "GetWidget: not in the upstream document",
        "listed: PolishWidget: response 409: only in ours",
    ]
    assert report.ok


def test_a_listed_deviation_that_no_longer_occurs_is_stale() -> None:
    upstream = copy.deepcopy(SAME_30)
    responses = upstream["paths"]["/widgets/{id}/polish"]["post"]["responses"]
    responses["409"] = responses["400"]
    deviations = [
        _listed_409(),
        # Not checked: GetWidget is not in this upstream document.
        Deviation("GetWidget", "PolishResult.finished_at", "format", "plain strings"),
    ]
    report = compare(OURS, upstream, deviations)
    assert report.lines() == [
        "GetWidget: not in the upstream document",
        "stale: PolishWidget: response 409: only in ours: listed, but no longer differs",
    ]
    assert not report.ok


def test_a_deviation_for_every_operation() -> None:
    upstream = copy.deepcopy(SAME_30)
    upstream["components"]["schemas"]["Error"]["properties"]["trace"] = {"type": "string"}
    deviations = [_listed_409(), Deviation("*", "Problem.trace", "only upstream", "we ignore it")]
    report = compare(OURS, upstream, deviations)
    assert report.lines() == [
        "GetWidget: not in the upstream document",
        "listed: PolishWidget: Problem.trace: only upstream",
        "listed: PolishWidget: response 409: only in ours",
    ]


def test_matched_by_operation_id_when_the_path_moved() -> None:
    upstream = copy.deepcopy(SAME_30)
    paths = upstream["paths"]
    paths["/v3/widgets/{id}/polish"] = paths.pop("/widgets/{id}/polish")
    paths["/v3/widgets/{id}/polish"]["post"]["operationId"] = "PolishWidget"
    assert compare(OURS, upstream, [_listed_409()]).ok


@pytest.mark.parametrize(
    ("ours_schema", "upstream_schema", "lines"),
    [
        ({"type": ["integer", "null"]}, {"type": "integer", "nullable": True}, []),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, {"type": "integer", "nullable": True}, []),
        ({"type": "string", "enum": ["a", None]}, {"type": "string", "enum": ["a"], "nullable": True}, []),
        ({"type": "integer"}, {"type": "integer", "default": 0}, ["default: ours none, upstream 0"]),
        (
            {"type": "integer"},
            {"allOf": [{"type": "integer"}], "nullable": True},
            ["nullable: ours false, upstream true"],
        ),
        ({"type": "integer"}, {"type": "number"}, ["type: ours integer, upstream number"]),
    ],
)
def test_parameter_schemas(
    ours_schema: dict[str, Any], upstream_schema: dict[str, Any], lines: list[str]
) -> None:
    ours, upstream = copy.deepcopy(OURS), copy.deepcopy(SAME_30)
    ours["paths"]["/widgets/{widget_id}/polish"]["post"]["parameters"][1]["schema"] = ours_schema
    upstream["components"]["parameters"]["Shard"]["schema"] = upstream_schema
    report = compare(ours, upstream, [_listed_409()])
    assert report.unlisted == [
        spec_diff.Difference("PolishWidget", "parameter query shard", *line.split(": ", 1)) for line in lines
    ]


def test_main_prints_the_lines_and_exits_1_on_an_unlisted_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deviations = tmp_path / "deviations.yaml"
    deviations.write_text("[]\n")
    argv = [str(FIXTURES / "upstream-same-3.0.yaml"), "--ours", str(FIXTURES / "ours.yaml")]
    assert spec_diff.main([*argv, "--deviations", str(deviations)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "GetWidget: not in the upstream document",
        "PolishWidget: response 409: only in ours",
    ]
    assert "1 unlisted difference(s), 0 stale" in err

    deviations.write_text(
        "- operation: PolishWidget\n  where: response 409\n  what: only in ours\n  reason: we answer conflicts\n"
    )
    assert spec_diff.main([*argv, "--deviations", str(deviations)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "listed: PolishWidget: response 409: only in ours"


def test_a_deviation_without_a_reason_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deviations = tmp_path / "deviations.yaml"
    deviations.write_text("- operation: PolishWidget\n  where: response 409\n  what: only in ours\n")
    argv = [str(FIXTURES / "upstream-same-3.0.yaml"), "--ours", str(FIXTURES / "ours.yaml")]
    assert spec_diff.main([*argv, "--deviations", str(deviations)]) == 2
    assert "entry 0 must have exactly" in capsys.readouterr().err


@pytest.mark.skipif(not KALSHI_EXCERPT.exists(), reason="shared/reference is not beside this checkout")
def test_our_spec_against_kalshis_excerpt_shows_only_listed_deviations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert spec_diff.main([str(KALSHI_EXCERPT)]) == 0, capsys.readouterr()
    lines = capsys.readouterr().out.splitlines()
    assert "GetOrder: not in the upstream document" in lines
    assert all(line.startswith("listed: ") for line in lines if "not in the upstream document" not in line)


def test_the_listed_get_order_deviations_match_what_spec_diff_prints() -> None:
    # A made-up upstream holding only Get Order, as a 3.34-style document would describe it:
    # our own openapi.yaml with date-time formats and Kalshi's flat error schema.
    ours = load_document(REPO / "openapi.yaml")
    upstream = copy.deepcopy(ours)
    upstream["paths"] = {"/portfolio/orders/{order_id}": upstream["paths"]["/portfolio/orders/{order_id}"]}
    schemas = upstream["components"]["schemas"]
    for name in ("expiration_time", "created_time", "last_update_time"):
        schemas["Order"]["properties"][name] = {"type": "string", "format": "date-time", "nullable": True}
    for name in ("error", "msg"):
        del schemas["ErrorResponse"]["properties"][name]
    report = compare(ours, upstream, spec_diff.load_deviations(REPO / "spec-deviations.yaml"))
    # Our other operations (Amend, and any added to the spec since) are simply not upstream.
    lines = [line for line in report.lines() if not line.endswith(": not in the upstream document")]
    assert "AmendOrderV2: not in the upstream document" in report.lines()
    assert lines == [
        "listed: GetOrder: Order.created_time: format: ours none, upstream date-time",
        "listed: GetOrder: Order.expiration_time: format: ours none, upstream date-time",
        "listed: GetOrder: Order.last_update_time: format: ours none, upstream date-time",
        "listed: GetOrder: ErrorResponse.error: only in ours",
        "listed: GetOrder: ErrorResponse.msg: only in ours",
    ]
    assert report.ok


KALSHI_EXCERPT = REPO.parent / "shared" / "reference" / "kalshi-openapi-3.31.0-amend-v2-excerpt.yaml"


@pytest.mark.skipif(
    not KALSHI_EXCERPT.is_file(), reason="Kalshi's published excerpt is not beside this checkout"
)
def test_against_kalshis_published_excerpt_only_listed_deviations_remain() -> None:
    # The excerpt is Kalshi's, kept beside the repository (never copied into it).
    report = compare(
        load_document(REPO / "openapi.yaml"),
        load_document(KALSHI_EXCERPT),
        spec_diff.load_deviations(REPO / "spec-deviations.yaml"),
    )
    assert report.ok, "\n".join(report.lines())
    assert "GetOrder: not in the upstream document" in report.lines()
