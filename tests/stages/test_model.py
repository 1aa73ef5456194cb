"""Model files: the built-in ones are valid; bad ones fail with the file, stage and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from journeylens.cli.main import app
from journeylens.errors import ConfigError, NotFoundError
from journeylens.stages.model import builtin_models, load_model, parse_model
from journeylens.stages.rules import AllOf, AnyOf, TouchpointAtom

GOOD = {
    "id": "m",
    "labels": {"en": "M", "it": "M"},
    "stages": [{"id": "a", "labels": {"en": "A", "it": "A"}, "entry": {"any_touchpoint": True}}],
}


def stage(**fields: object) -> dict[str, object]:
    return {"id": "s", "labels": {"en": "S", "it": "S"}, **fields}


def with_stage(**fields: object) -> dict[str, object]:
    return {**GOOD, "stages": [*GOOD["stages"], stage(**fields)]}  # type: ignore[misc]


def test_builtin_models_are_valid_and_bilingual() -> None:
    models = {m.id: m for m in builtin_models()}
    assert set(models) == {
        "five_phases",
        "awareness_to_loyalty",
        "aida",
        "mckinsey_cdj",
        "b2b_pipeline",
    }
    assert [s.id for s in models["five_phases"].stages][:5] == [
        "awareness",
        "consideration",
        "conversion",
        "retention",
        "advocacy",
    ]
    assert models["five_phases"].stage("retention").label("it") == "Fidelizzazione"
    assert models["mckinsey_cdj"].circular and models["b2b_pipeline"].level == "account"
    for model in models.values():
        for s in model.stages:
            assert s.labels["en"] and s.labels["it"], (model.id, s.id)


def test_rules_parse_into_the_documented_shapes() -> None:
    model = load_model("five_phases")
    retention = model.stage("retention").entry
    assert isinstance(retention, AnyOf)
    assert retention.rules[0] == TouchpointAtom(("purchase", "booking_confirmed"), (), 2, None)
    assert isinstance(model.stage("advocacy").entry, AllOf)
    mql = load_model("b2b_pipeline").stage("marketing_qualified").entry
    assert isinstance(mql, AnyOf) and mql.rules[0].within_days == 60.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            with_stage(entry={"event": "x", "where": "rating >> 4"}),
            "test.yaml: stage 's': entry.where: cannot read condition 'rating >> 4'; write NAME OP "
            "VALUE with OP one of =, !=, >, >=, <, <=, in, not_in, contains (e.g. 'score >= 9')",
        ),
        (
            with_stage(entry={"event": "x", "count": 0}),
            "test.yaml: stage 's': entry.count: must be a whole number ≥ 1, got 0",
        ),
        (
            with_stage(entry={"event": "x", "within_days": -3}),
            "test.yaml: stage 's': entry.within_days: must be a number of days > 0, got -3",
        ),
        (
            with_stage(entry={"evnt": "x"}),
            "test.yaml: stage 's': entry.evnt: unknown rule key; allowed: event, category, "
            "any_touchpoint, where, count, within_days, after, trait, any, all, not",
        ),
        (
            with_stage(entry={"any": [{"event": "x"}, {"category": "nope"}]}),
            "test.yaml: stage 's': entry.any[1].category: unknown category 'nope'; the model "
            "defines: none",
        ),
        (
            with_stage(entry={"where": "score >= 9"}),
            "test.yaml: stage 's': entry.where: needs event, category or any_touchpoint beside it",
        ),
        (
            with_stage(entry={"event": "x", "after": "ghost"}),
            "test.yaml: stage 's': entry.after: unknown stage 'ghost'",
        ),
        (
            with_stage(entry={"event": "x", "after": "s"}),
            "test.yaml: stage 's': entry.after: circular reference s → s",
        ),
        (
            with_stage(entry={"event": "x"}, lapse={"after_days": 3, "activity": {"event": "y"}}),
            "test.yaml: stage 's': needs exactly one of entry (a rule) or lapse",
        ),
        (
            with_stage(lapse={"after_days": 0, "activity": {"event": "y"}}),
            "test.yaml: stage 's': lapse.after_days: must be a number of days > 0, got 0",
        ),
        (
            with_stage(entry={"event": "x"}, labels={"en": "S"}),
            "test.yaml: stage 's': labels: missing the 'it' label",
        ),
        (
            with_stage(entry={"event": "x"}, colour="red"),
            "test.yaml: stage 's': colour: unknown key; allowed: id, labels, description, entry, "
            "lapse",
        ),
        ({**GOOD, "level": "team"}, "test.yaml: level: must be customer or account, got 'team'"),
        (
            {**GOOD, "stages": [GOOD["stages"][0], GOOD["stages"][0]]},  # type: ignore[index]
            "test.yaml: stage 'a': id: used by an earlier stage",
        ),
        ({**GOOD, "stages": []}, "test.yaml: stages: required, a non-empty list of stages"),
    ],
)
def test_invalid_models_name_the_stage_and_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_model(raw, "test.yaml")
    assert str(caught.value) == message


def test_unknown_model_name_lists_the_builtins() -> None:
    with pytest.raises(NotFoundError, match="one of aida, awareness_to_loyalty, b2b_pipeline"):
        load_model("seven_phases")


def test_cli_reports_a_bad_model_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(with_stage(entry={"event": "purchase", "count": "two"})))
    result = CliRunner().invoke(app, ["stages", "show", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: mine.yaml: stage 's': entry.count: must be a whole number ≥ 1, got 'two'"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_shows_rules_in_plain_words() -> None:
    result = CliRunner().invoke(app, ["stages", "show", "aida", "--format", "json"])
    assert result.exit_code == 0
    assert '"rule": "one of {add_to_cart, products_compared, rooms_compared' in result.stdout


def test_user_docs_show_every_builtin_rule_in_words() -> None:
    from journeylens.stages.describe import describe_model

    docs = (Path(__file__).parents[2] / "docs" / "stages.md").read_text(encoding="utf-8")
    for model in builtin_models():
        assert f"### `{model.id}`" in docs
        for row in describe_model(model):
            assert f"| {row['rule']} |" in docs, (model.id, row["stage"])
