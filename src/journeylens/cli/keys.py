"""``journeylens keys``: write keys per source, read and admin tokens (stored hashed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from journeylens.cli.main import handled, state
from journeylens.cli.output import Format, FormatOption, emit, emit_record

out = Console()


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="Create, list and revoke server keys.", no_args_is_help=True)
    app.add_typer(keys, name="keys")

    @keys.command("create")
    @handled
    def create(
        ctx: typer.Context,
        kind: Annotated[
            str, typer.Option(help="write (ingestion), read (query API) or admin (+ privacy).")
        ] = "write",
        source: Annotated[
            str | None, typer.Option(help="Source the events of a write key are stored under.")
        ] = None,
        name: Annotated[str | None, typer.Option(help="A name to recognise the key.")] = None,
        data_party: Annotated[
            str, typer.Option(help="first, second or third (write keys).")
        ] = "first",
        fmt: FormatOption = Format.table,
    ) -> None:
        """Create a key; its secret is printed once and stored only as a hash."""
        from journeylens.server.keys import KeyKind, KeyStore

        kind_: KeyKind = kind  # type: ignore[assignment]  # checked by KeyStore.create
        created = KeyStore(state(ctx).workspace).create(
            kind_, source=source, name=name, data_party=data_party
        )
        record = {**_shown(created.key.to_dict()), "secret": created.secret}
        emit_record(record, fmt, title="new key (the secret is shown only now)")

    @keys.command("list")
    @handled
    def list_(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
        """List the keys (never their secrets)."""
        from journeylens.server.keys import KeyStore

        rows = [_shown(k.to_dict()) for k in KeyStore(state(ctx).workspace).list()]
        emit(rows, fmt, title="keys")

    @keys.command("revoke")
    @handled
    def revoke(
        ctx: typer.Context,
        key_id: Annotated[str, typer.Argument(help="Key id (see `journeylens keys list`).")],
    ) -> None:
        """Revoke a key: requests carrying it get 401 from now on."""
        from journeylens.server.keys import KeyStore

        key = KeyStore(state(ctx).workspace).revoke(key_id)
        out.print(f"revoked {key.id} ({key.kind}, {key.name})")


def _shown(record: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in record.items() if k != "sha256"}
