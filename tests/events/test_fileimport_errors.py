"""Bad input, one test per kind, with the exact message the user sees; stop/skip/rejects."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from journeylens import InputError, MappingError, RecordError, Workspace

ORDERS_MAPPING = """\
source: shop
file: {delimiter: ";", decimal: ","}
events:
  event: purchase
  id: {template: "ord-{numero}"}
  timestamp: {column: data, format: "%d/%m/%Y %H:%M", timezone: Europe/Rome}
  user_id: cliente
  revenue: totale
  currency: EUR
"""
HEADER = "numero;data;cliente;totale\n"
Writer = Callable[..., Path]


def orders(write: Writer, *rows: str, name: str = "ordini.csv") -> tuple[Path, Path]:
    return write(name, HEADER + "".join(r + "\n" for r in rows)), write(
        "ordini.yaml", ORDERS_MAPPING
    )


def stored(ws: Workspace) -> list[str]:
    return [r["event_id"] for r in ws.engine.rows("SELECT event_id FROM events ORDER BY 1")]


def test_missing_column_names_the_column_and_both_files(
    workspace: Workspace, write: Writer
) -> None:
    data = write("ordini.csv", "numero;data;codice;totale\n1;01/03/2026 10:00;c1;5\n")
    _, mapping = orders(write, name="unused.csv")
    with pytest.raises(MappingError) as caught:
        workspace.import_file(data, mapping)
    assert caught.value.message == (
        "ordini.yaml: events.user_id: column 'cliente' is not in ordini.csv "
        "(its columns: numero, data, codice, totale)"
    )
    assert caught.value.field == "events.user_id"
    assert stored(workspace) == []


def test_bad_timestamp(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, "1;01/03/2026 10:00;c1;5", "2;31/02/2026 10:00;c1;5")
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data, mapping)
    error = caught.value
    assert error.message == (
        "ordini.csv row 2, data: '31/02/2026 10:00' is not a timestamp in the format %d/%m/%Y %H:%M"
    )
    assert (error.row, error.field, error.value) == (2, "data", "31/02/2026 10:00")
    assert stored(workspace) == []


def test_missing_timestamp(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, "1;;c1;5")
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data, mapping)
    assert caught.value.message == "ordini.csv row 1, data: empty (every event needs a timestamp)"


def test_bad_number(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, "1;01/03/2026 10:00;c1;12,5O")
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data, mapping)
    assert caught.value.message == "ordini.csv row 1, totale: '12,5O' is not a number"
    assert caught.value.field == "totale"


def test_decimal_comma_without_the_setting_gets_a_hint(workspace: Workspace, write: Writer) -> None:
    data = write("o.csv", "numero;data;cliente;totale\n1;01/03/2026 10:00;c1;12,50\n")
    mapping = write("o.yaml", ORDERS_MAPPING.replace(', decimal: ","', ""))
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data, mapping)
    assert caught.value.message == (
        "o.csv row 1, totale: '12,50' is not a number (decimal comma? add decimal: \",\" "
        "under file: in the mapping)"
    )


def test_unknown_event_type_without_mapping(workspace: Workspace, write: Writer) -> None:
    data = write(
        "events.csv",
        "event_id,type,event,user_id,ts\n"
        "e1,track,page_viewed,u1,2026-03-01T10:00:00Z\n"
        "e2,purchase,purchase,u1,2026-03-01T10:05:00Z\n",
    )
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data)
    assert caught.value.message == (
        "events.csv row 2, type: unknown event type 'purchase' "
        "(one of track, page, screen, identify, group, alias)"
    )


def test_value_not_in_the_value_map(workspace: Workspace, write: Writer) -> None:
    data = write(
        "s.csv",
        "id;quando;chi;domanda\n1;2026-03-01 10:00;u1;NPS\n2;2026-03-01 10:00;u1;Sondaggio\n",
    )
    mapping = write(
        "s.yaml",
        "source: survey\nfile: {delimiter: ';'}\nevents:\n"
        "  event: {column: domanda, values: {NPS: nps_response, "
        "CSAT: csat_response}}\n"
        "  id: id\n  timestamp: quando\n  user_id: chi\n",
    )
    report = workspace.import_file(data, mapping, on_error="skip")
    assert [e.message for e in report.errors] == [
        "s.csv row 2, domanda: 'Sondaggio' is not one of the values listed in "
        "events.event.values (nps, csat)"
    ]
    assert stored(workspace) == ["1"]


def test_empty_file(workspace: Workspace, write: Writer) -> None:
    data = write("vuoto.csv", "")
    with pytest.raises(InputError) as caught:
        workspace.import_file(data)
    assert caught.value.message == "vuoto.csv is empty: no header and no rows to import"


def test_header_only_file_imports_nothing(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write)
    report = workspace.import_file(data, mapping)
    assert (report.read, report.stored, report.rejected) == (0, 0, 0)


def test_wrong_encoding_names_row_byte_and_suggests_cp1252(
    workspace: Workspace, write: Writer
) -> None:
    text = HEADER + "1;01/03/2026 10:00;c1;5\n2;01/03/2026 11:00;Niccolò;7\n"
    data = write("ordini.csv", text, encoding="latin-1")
    mapping = write("ordini.yaml", ORDERS_MAPPING)
    offset = text.encode("latin-1").index(b"\xf2")
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data, mapping)
    assert caught.value.message == (
        f"ordini.csv row 2, cliente: not valid utf-8 (byte 0xf2 at byte {offset + 1} of the "
        "file); the file is probably in Windows-1252 (as Excel saves CSV in Italy): add "
        "encoding: cp1252 under file: in the mapping"
    )
    assert (caught.value.row, caught.value.field) == (2, "cliente")
    assert stored(workspace) == []
    # with the encoding set, the same file imports and keeps its accents
    fixed = write("ok.yaml", ORDERS_MAPPING.replace("decimal", "encoding: cp1252, decimal"))
    report = workspace.import_file(data, fixed)
    assert report.stored == 2
    assert (
        workspace.engine.scalar("SELECT user_id FROM events WHERE event_id = 'ord-2'") == "Niccolò"
    )


def test_same_message_id_twice_is_a_duplicate_not_an_error(
    workspace: Workspace, write: Writer
) -> None:
    data, mapping = orders(
        write, "1;01/03/2026 10:00;c1;5", "2;01/03/2026 11:00;c2;6", "1;01/03/2026 10:00;c1;5"
    )
    report = workspace.import_file(data, mapping)
    assert (report.read, report.stored, report.duplicates, report.rejected) == (3, 2, 1, 0)
    assert report.duplicate_ids == ["ord-1"]
    assert report.errors == []
    assert stored(workspace) == ["ord-1", "ord-2"]


def test_same_id_with_different_content_keeps_the_first_row(
    workspace: Workspace, write: Writer
) -> None:
    data, mapping = orders(write, "1;01/03/2026 10:00;c1;5", "1;02/03/2026 10:00;c1;99")
    workspace.import_file(data, mapping)
    assert workspace.engine.rows("SELECT revenue FROM events") == [{"revenue": 5}]


def test_importing_the_same_file_twice_leaves_one_copy(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, "1;01/03/2026 10:00;c1;5", "2;01/03/2026 11:00;c2;6")
    first = workspace.import_file(data, mapping)
    second = workspace.import_file(data, mapping)
    assert (first.stored, first.duplicates) == (2, 0)
    assert (second.stored, second.duplicates) == (0, 2)
    assert sorted(second.duplicate_ids) == ["ord-1", "ord-2"]
    assert stored(workspace) == ["ord-1", "ord-2"]
    ledger = workspace.engine.rows(
        "SELECT rows_read, stored, duplicates, rejected, source, mapping, file_sha256 "
        "FROM imports ORDER BY started_at"
    )
    assert [(r["rows_read"], r["stored"], r["duplicates"]) for r in ledger] == [
        (2, 2, 0),
        (2, 0, 2),
    ]
    assert ledger[0]["file_sha256"] == ledger[1]["file_sha256"] != None  # noqa: E711
    assert ledger[0]["mapping"] == str(mapping) and ledger[0]["source"] == "shop"


BAD_MIDDLE = ("1;01/03/2026 10:00;c1;5", "2;01/03/2026 11:00;c2;sei", "3;01/03/2026 12:00;c3;7")


def test_stop_refuses_the_whole_file(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, *BAD_MIDDLE)
    with pytest.raises(RecordError, match="row 2, totale"):
        workspace.import_file(data, mapping, on_error="stop")
    assert stored(workspace) == []
    assert workspace.engine.scalar("SELECT count(*) FROM imports") == 0


def test_skip_keeps_the_good_rows_around_a_bad_one(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, *BAD_MIDDLE)
    report = workspace.import_file(data, mapping, on_error="skip")
    assert (report.read, report.stored, report.rejected) == (3, 2, 1)
    assert [(e.row, e.field, e.value) for e in report.errors] == [(2, "totale", "sei")]
    assert report.rejects_file is None
    assert stored(workspace) == ["ord-1", "ord-3"]
    assert workspace.engine.scalar("SELECT rejected FROM imports") == 1


def test_rejects_writes_the_bad_rows_with_their_error(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, *BAD_MIDDLE, "4;01/03/2026 13:00;;8")
    report = workspace.import_file(data, mapping, on_error="rejects")
    assert stored(workspace) == ["ord-1", "ord-3"]
    assert report.rejects_file == str(data) + ".rejects.csv"
    with open(report.rejects_file, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows == [
        ["numero", "data", "cliente", "totale", "error"],
        ["2", "01/03/2026 11:00", "c2", "sei", "ordini.csv row 2, totale: 'sei' is not a number"],
        [
            "4",
            "01/03/2026 13:00",
            "",
            "8",
            "ordini.csv row 4, cliente: empty (every event needs a user_id or an anonymous_id)",
        ],
    ]


def test_rejects_path_can_be_chosen(workspace: Workspace, write: Writer, tmp_path: Path) -> None:
    data, mapping = orders(write, *BAD_MIDDLE)
    target = tmp_path / "scarti.csv"
    report = workspace.import_file(data, mapping, on_error="rejects", rejects_path=target)
    assert report.rejects_file == str(target) and target.exists()


def test_row_with_the_wrong_number_of_fields(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(
        write, "1;01/03/2026 10:00;c1;5", "2;01/03/2026 11:00;c2;6;extra", "3;01/03/2026 12:00;c3;7"
    )
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data, mapping)
    assert caught.value.message == (
        "ordini.csv row 2, (row): 5 fields where the header has 4 (check the delimiter and "
        "the quotes)"
    )
    report = workspace.import_file(data, mapping, on_error="skip")
    assert (report.read, report.stored, report.rejected) == (3, 2, 1)
    # rows after the one set aside keep their own numbers
    data, mapping = orders(write, "1;x;c1;5", "2;01/03/2026 11:00;c2", "3;y;c3;7", name="altri.csv")
    report = workspace.import_file(data, mapping, on_error="skip")
    assert [e.row for e in report.errors] == [1, 2, 3]


def test_quoted_newlines_do_not_shift_row_numbers(workspace: Workspace, write: Writer) -> None:
    data = write(
        "r.csv",
        'id,ts,user_id,event,note\n1,2026-03-01T10:00:00Z,u1,x,"a\nb"\n2,not a time,u1,x,c\n',
    )
    report = workspace.import_file(data, on_error="skip")
    assert [(e.row, e.field) for e in report.errors] == [(2, "ts")]


def test_mapping_for_json_lines_refuses_a_csv(
    workspace: Workspace, write: Writer, shipped: dict[str, Path]
) -> None:
    data, _ = orders(write, "1;01/03/2026 10:00;c1;5")
    with pytest.raises(InputError) as caught:
        workspace.import_file(data, shipped["website"])
    assert caught.value.message == (
        "website.yaml: file.format is jsonl, but ordini.csv is a .csv file (csv); use a "
        "mapping made for csv files"
    )


def test_bad_json_lines(workspace: Workspace, write: Writer) -> None:
    data = write(
        "web.jsonl",
        '{"type": "track", "event": "x", "userId": "u1", '
        '"timestamp": "2026-03-01T10:00:00Z", "messageId": "m1"}\n'
        "\n"
        '{"type": "track", "userId": "u1"\n'
        '{"type": "tarck", "event": "x", "userId": "u1", '
        '"timestamp": "2026-03-01T10:00:00Z"}\n',
    )
    report = workspace.import_file(data, on_error="rejects")
    assert (report.read, report.stored, report.rejected) == (3, 1, 2)
    assert [(e.row, e.field) for e in report.errors] == [(3, "(line)"), (4, "type")]
    assert report.errors[0].message.startswith("web.jsonl row 3, (line): not valid JSON: ")
    with open(str(report.rejects_file), encoding="utf-8", newline="") as fh:
        assert [r[0] for r in csv.reader(fh)] == ["row", "3", "4"]


def test_progress_is_reported(workspace: Workspace, write: Writer) -> None:
    data, mapping = orders(write, "1;01/03/2026 10:00;c1;5", "2;01/03/2026 11:00;c2;6")
    calls: list[tuple[int, int | None]] = []
    workspace.import_file(data, mapping, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, None)]


def test_wrong_encoding_in_the_header(workspace: Workspace, write: Writer) -> None:
    data = write("contatti.csv", "Nome;Città;ts\nGiulia;Roma;2026-03-01\n", encoding="cp1252")
    with pytest.raises(RecordError) as caught:
        workspace.import_file(data)
    assert caught.value.message == (
        "contatti.csv header: not valid utf-8 (byte 0xe0 at byte 10 of the file); the file is "
        "probably in Windows-1252 (as Excel saves CSV in Italy): add encoding: cp1252 under "
        "file: in the mapping"
    )
