"""Journey models as data: ordered stages with entry rules, read from YAML and validated.

A model file::

    id: five_phases
    labels: {en: Five phases, it: Cinque fasi}
    description: {en: ..., it: ...}
    level: customer          # or account (B2B: the stages of a company, over its contacts)
    circular: false          # true: a customer may move back to an earlier stage
    categories:              # optional names for groups of touchpoints, used by rules
      review: [review_read, review_written]
    stages:
      - id: awareness
        labels: {en: Awareness, it: Consapevolezza}
        description: {en: ..., it: ...}
        entry: {any_touchpoint: true}          # see journeylens.stages.rules
      - id: lapsed
        labels: {en: Lapsed, it: Perso}
        lapse:                                 # entered when activity stops
          after_days: 180
          activity: {event: [purchase]}

Every problem is a :class:`~journeylens.errors.ConfigError` whose message names the file, the
stage and the field (``five.yaml: stage 'advocacy': entry.where: cannot read condition …``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from journeylens.errors import ConfigError, NotFoundError
from journeylens.stages.rules import (
    Rule,
    RuleError,
    TouchpointAtom,
    parse_rule,
    stage_references,
)

__all__ = ["JourneyModel", "Lapse", "Stage", "builtin_models", "load_model", "parse_model"]

LANGUAGES = ("en", "it")
_MODEL_KEYS = ("id", "labels", "description", "level", "circular", "categories", "stages")
_STAGE_KEYS = ("id", "labels", "description", "entry", "lapse")


@dataclass(frozen=True)
class Lapse:
    """Entered ``after_days`` after the last ``activity`` touchpoint, if no other follows."""

    after_days: float
    activity: TouchpointAtom


@dataclass(frozen=True)
class Stage:
    id: str
    labels: dict[str, str]
    description: dict[str, str]
    entry: Rule | None
    lapse: Lapse | None

    def label(self, language: str = "en") -> str:
        return self.labels.get(language) or self.labels["en"]


@dataclass(frozen=True)
class JourneyModel:
    id: str
    labels: dict[str, str]
    description: dict[str, str]
    level: Literal["customer", "account"]
    circular: bool
    stages: tuple[Stage, ...]
    source: str
    """The file it was read from (or ``builtin:<id>``)."""

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise NotFoundError(
            f"model {self.id!r} has no stage {stage_id!r}", kind="stage", key=stage_id
        )

    def rank(self, stage_id: str) -> int:
        """1-based position of the stage in the model."""
        return [s.id for s in self.stages].index(stage_id) + 1

    @property
    def entry_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.entry is not None)

    @property
    def lapse_stages(self) -> tuple[Stage, ...]:
        return tuple(
            sorted(
                (s for s in self.stages if s.lapse is not None),
                key=lambda s: s.lapse.after_days if s.lapse else 0,
            )
        )

    def label(self, language: str = "en") -> str:
        return self.labels.get(language) or self.labels["en"]


def _fail(file: str, where: str, message: str, field: str | None = None) -> ConfigError:
    return ConfigError(f"{file}: {where}{message}", file=file, field=field)


def _texts(raw: Any, file: str, where: str, field: str, *, required: bool) -> dict[str, str]:
    if raw is None and not required:
        return {}
    if isinstance(raw, str) and not required:
        return {"en": raw}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise _fail(
            file,
            where,
            f"{field}: expected texts by language, e.g. {{en: Awareness, it: Consapevolezza}}",
            field,
        )
    missing = [lang for lang in LANGUAGES if required and not raw.get(lang)]
    if missing:
        raise _fail(file, where, f"{field}: missing the {missing[0]!r} label", field)
    return dict(raw)


def parse_model(raw: Any, file: str) -> JourneyModel:
    """Validate a model read from YAML; ``file`` is used in error messages."""
    if not isinstance(raw, dict):
        raise _fail(file, "", "expected a journey model (a mapping with id, labels, stages)")
    unknown = [k for k in raw if k not in _MODEL_KEYS]
    if unknown:
        raise _fail(
            file, "", f"{unknown[0]}: unknown key; allowed: {', '.join(_MODEL_KEYS)}", unknown[0]
        )
    model_id = raw.get("id")
    if not isinstance(model_id, str) or not model_id:
        raise _fail(file, "", "id: required (a short name such as five_phases)", "id")
    level = raw.get("level", "customer")
    if level not in ("customer", "account"):
        raise _fail(file, "", f"level: must be customer or account, got {level!r}", "level")
    circular = raw.get("circular", False)
    if not isinstance(circular, bool):
        raise _fail(file, "", f"circular: must be true or false, got {circular!r}", "circular")
    categories_raw = raw.get("categories") or {}
    if not isinstance(categories_raw, dict):
        raise _fail(
            file, "", "categories: expected a mapping of name → list of events", "categories"
        )
    categories: dict[str, tuple[str, ...]] = {}
    for name, events in categories_raw.items():
        items = events if isinstance(events, list) else [events]
        if not items or not all(isinstance(e, str) for e in items):
            raise _fail(
                file, "", f"categories.{name}: expected a list of event names", f"categories.{name}"
            )
        categories[str(name)] = tuple(items)
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        raise _fail(file, "", "stages: required, a non-empty list of stages", "stages")
    stages: list[Stage] = []
    seen: set[str] = set()
    for index, item in enumerate(stages_raw):
        stages.append(_parse_stage(item, index, file, categories, seen))
        seen.add(stages[-1].id)
    _check_references(stages, file)
    if not any(s.entry for s in stages):
        raise _fail(file, "", "stages: at least one stage needs an entry rule", "stages")
    return JourneyModel(
        id=model_id,
        labels=_texts(raw.get("labels"), file, "", "labels", required=True),
        description=_texts(raw.get("description"), file, "", "description", required=False),
        level=level,
        circular=circular,
        stages=tuple(stages),
        source=file,
    )


def _parse_stage(
    item: Any, index: int, file: str, categories: dict[str, tuple[str, ...]], seen: set[str]
) -> Stage:
    if not isinstance(item, dict):
        raise _fail(
            file,
            f"stages[{index}]: ",
            "expected a stage mapping with id, labels, entry",
            f"stages[{index}]",
        )
    stage_id = item.get("id")
    if not isinstance(stage_id, str) or not stage_id.isidentifier():
        raise _fail(
            file,
            f"stages[{index}]: ",
            f"id: required, a name of letters, digits and _ (got {stage_id!r})",
            f"stages[{index}].id",
        )
    where = f"stage {stage_id!r}: "
    if stage_id in seen:
        raise _fail(file, where, "id: used by an earlier stage", f"stages[{index}].id")
    unknown = [k for k in item if k not in _STAGE_KEYS]
    if unknown:
        raise _fail(
            file,
            where,
            f"{unknown[0]}: unknown key; allowed: {', '.join(_STAGE_KEYS)}",
            f"stages[{index}].{unknown[0]}",
        )
    if ("entry" in item) == ("lapse" in item):
        raise _fail(
            file, where, "needs exactly one of entry (a rule) or lapse", f"stages[{index}].entry"
        )
    entry: Rule | None = None
    lapse: Lapse | None = None
    try:
        if "entry" in item:
            entry = parse_rule(item["entry"], "entry", categories)
        else:
            lapse = _parse_lapse(item["lapse"], categories)
    except RuleError as error:
        raise _fail(file, where, str(error), f"stages[{index}].{error.path}") from None
    return Stage(
        id=stage_id,
        labels=_texts(item.get("labels"), file, where, "labels", required=True),
        description=_texts(item.get("description"), file, where, "description", required=False),
        entry=entry,
        lapse=lapse,
    )


def _parse_lapse(raw: Any, categories: dict[str, tuple[str, ...]]) -> Lapse:
    if not isinstance(raw, dict) or set(raw) - {"after_days", "activity"}:
        raise RuleError("lapse", "expected {after_days: N, activity: {event: [...]}}")
    days = raw.get("after_days")
    if isinstance(days, bool) or not isinstance(days, int | float) or days <= 0:
        raise RuleError("lapse.after_days", f"must be a number of days > 0, got {days!r}")
    activity = parse_rule(raw.get("activity"), "lapse.activity", categories)
    if not isinstance(activity, TouchpointAtom) or activity.count != 1 or activity.within_days:
        raise RuleError(
            "lapse.activity",
            "must name touchpoints (event or category, optional "
            "where), without count or within_days",
        )
    return Lapse(float(days), activity)


def _check_references(stages: list[Stage], file: str) -> None:
    ids = {s.id for s in stages}
    graph = {s.id: stage_references(s.entry) if s.entry else set() for s in stages}
    for stage in stages:
        for ref in sorted(graph[stage.id]):
            if ref not in ids:
                raise _fail(
                    file, f"stage {stage.id!r}: ", f"entry.after: unknown stage {ref!r}", "after"
                )
            if not next(s for s in stages if s.id == ref).entry:
                raise _fail(
                    file,
                    f"stage {stage.id!r}: ",
                    f"entry.after: {ref!r} is a lapse stage; name a stage with an entry rule",
                    "after",
                )
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise _fail(
                file,
                f"stage {node!r}: ",
                "entry.after: circular reference " + " → ".join([*trail, node]),
                "after",
            )
        state[node] = 1
        for ref in sorted(graph[node]):
            visit(ref, [*trail, node])
        state[node] = 2

    for stage in stages:
        visit(stage.id, [])


def load_model(model: str | Path) -> JourneyModel:
    """A built-in model by id (``five_phases``) or a model file by path."""
    builtins = _builtin_files()
    if isinstance(model, str) and model in builtins:
        path = builtins[model]
    else:
        path = Path(model)
        if not path.exists():
            raise NotFoundError(
                f"no journey model {str(model)!r}: give a YAML file or one of "
                f"{', '.join(sorted(builtins))}",
                kind="model",
                key=str(model),
            )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}", file=str(path)) from None
    return parse_model(raw, path.name)


def _builtin_files() -> dict[str, Path]:
    folder = resources.files("journeylens.stages") / "models"
    return {Path(e.name).stem: Path(str(e)) for e in folder.iterdir() if e.name.endswith(".yaml")}


def builtin_models() -> list[JourneyModel]:
    """The models shipped with journeylens (see docs/stages.md)."""
    return [load_model(name) for name in sorted(_builtin_files())]
