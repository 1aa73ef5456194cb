"""Documentation keeps up with the code: every command and setting is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from journeylens.cli.main import app
from journeylens.config import IdentityConfig, Settings, WorkspaceConfig

DOCS = Path(__file__).parents[1] / "docs"


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        assert f"`{name}" in text, f"command {name!r} is missing from docs/cli.md"
        for sub in getattr(command, "commands", {}):
            assert f"`{name} {sub}" in text, f"command '{name} {sub}' is missing from docs/cli.md"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`JOURNEYLENS_{name.upper()}`" in text, name
    for model in (WorkspaceConfig, IdentityConfig):
        for name in model.model_fields:
            assert f"`{name}`" in text, f"{model.__name__}.{name} missing from configuration.md"


def test_readme_opens_with_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "./dev.sh demo" in first_block and "./dev.sh test" in first_block
    assert "./dev.sh test" in (DOCS.parent / ".ci" / "run").read_text(encoding="utf-8")
