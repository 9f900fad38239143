"""docs/protocol.md lists exactly the codes the code can emit.

The error-code table (§6) and the disconnect-reason table (§6b) of the doc must
equal `porthole.wire.ERROR_CODES` and `porthole.wire.DISCONNECT_REASONS`, the
one source of truth the server and the agent import. The Go sidecar's codes and
close reasons, and every code constant of `porthole.errors`, must be in those
sets too, so that a code added anywhere fails here until wire.py and the doc
say it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from porthole import errors, wire

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "protocol.md"
ERRORS_HEADING = "## 6. Error codes"
REASONS_HEADING = "## 6b. Disconnect reasons"
# The first cell of a row of either table: exactly one code in backticks.
CODE_CELL_RE = re.compile(r"^`([a-z][a-z0-9_]*)`$")
# Go constants such as `CodeBadMessage = "bad_message"` / `ReasonPeerClosed = "peer_closed"`.
GO_CODE_RE = re.compile(r'^\s*Code\w+\s*=\s*"([a-z0-9_]+)"', re.MULTILINE)
GO_REASON_RE = re.compile(r'^\s*Reason\w+\s*=\s*"([a-z0-9_]+)"', re.MULTILINE)
GO_CODE_FILES = (
    "core-go/internal/terminal/message.go",
    "core-go/internal/screen/input/message.go",
    "core-go/internal/screen/clipboard/message.go",
    "core-go/internal/files/relay.go",
)
GO_REASON_FILE = "core-go/internal/rtc/limits.go"


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows (cells, without header and separator) of the first table under `heading`."""
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise AssertionError(f"docs/protocol.md has no heading {heading!r}") from None
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break  # the table ended
    if len(rows) < 3:
        raise AssertionError(f"no table under {heading!r}")
    return rows[2:]


def documented_codes(text: str, heading: str) -> set[str]:
    codes: list[str] = []
    for row in table_after(text, heading):
        m = CODE_CELL_RE.match(row[0])
        if m is None:
            raise AssertionError(f"{heading}: the first cell must be one `code`, got {row[0]!r}")
        codes.append(m.group(1))
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise AssertionError(f"{heading}: listed twice: {dupes}")
    return set(codes)


def drift(documented: set[str], emitted: frozenset[str]) -> str:
    return (
        f"undocumented (in wire.py, not in the doc): {sorted(emitted - documented)}; "
        f"documented but not in wire.py: {sorted(documented - emitted)}"
    )


def go_strings(rel: str, pattern: re.Pattern[str]) -> set[str]:
    found = set(pattern.findall((REPO / rel).read_text()))
    assert found, f"no constants matched in {rel}: the pattern is stale"
    return found


def test_documented_error_codes_equal_wire() -> None:
    documented = documented_codes(DOC.read_text(), ERRORS_HEADING)
    assert documented == wire.ERROR_CODES, drift(documented, wire.ERROR_CODES)


def test_documented_disconnect_reasons_equal_wire() -> None:
    documented = documented_codes(DOC.read_text(), REASONS_HEADING)
    assert documented == wire.DISCONNECT_REASONS, drift(documented, wire.DISCONNECT_REASONS)


def test_the_parser_sees_a_missing_an_extra_and_a_malformed_row() -> None:
    doc = (
        f"{ERRORS_HEADING}\n\ntext\n\n| code | meaning |\n|---|---|\n"
        "| `bad_request` | x |\n| `made_up` | y |\n\n## 7. Next\n| `not_this` | z |\n"
    )
    got = documented_codes(doc, ERRORS_HEADING)
    assert got == {"bad_request", "made_up"}
    assert got != wire.ERROR_CODES
    assert "made_up" in drift(got, wire.ERROR_CODES)
    with pytest.raises(AssertionError, match="one `code`"):
        documented_codes(doc.replace("| `made_up` |", "| `a`, `b` |"), ERRORS_HEADING)
    with pytest.raises(AssertionError, match="listed twice"):
        documented_codes(doc.replace("`made_up`", "`bad_request`"), ERRORS_HEADING)
    with pytest.raises(AssertionError, match="no heading"):
        documented_codes(doc, REASONS_HEADING)


def test_every_code_of_porthole_errors_is_in_wire() -> None:
    codes = {v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)}
    assert len(codes) >= 20, codes
    assert codes <= wire.ERROR_CODES, sorted(codes - wire.ERROR_CODES)


def test_go_codes_and_close_reasons_are_in_wire() -> None:
    codes = set().union(*(go_strings(f, GO_CODE_RE) for f in GO_CODE_FILES))
    assert codes <= wire.ERROR_CODES, sorted(codes - wire.ERROR_CODES)
    reasons = go_strings(GO_REASON_FILE, GO_REASON_RE)
    assert reasons <= wire.DISCONNECT_REASONS, sorted(reasons - wire.DISCONNECT_REASONS)


def test_client_reasons_are_disconnect_reasons() -> None:
    assert wire.CLIENT_REASONS <= wire.DISCONNECT_REASONS
    assert wire.client_reason("user_closed") == wire.client_reason(None) == "user_closed"
    for other in ("anything else", "idle_timeout", "client_gone", "exit"):
        assert wire.client_reason(other) == wire.CLIENT_ERROR


def test_the_pages_reconnect_backoff_is_the_documented_one() -> None:
    """§2 "Reconnecting" cites web/src/main.js's RECONNECT: the two must not drift."""
    src = (REPO / "web" / "src" / "main.js").read_text()
    m = re.search(r"const RECONNECT = \{([^}]*)\}", src)
    assert m, "web/src/main.js has no RECONNECT"
    opts = dict(re.findall(r"(\w+):\s*([0-9.]+)", m.group(1)))
    first, cap, jitter = (
        float(opts["reconnectionDelay"]),
        float(opts["reconnectionDelayMax"]),
        float(opts["randomizationFactor"]),
    )
    said = f"backoff of {first / 1000:g} s doubling to {cap / 1000:g} s, randomized ±{jitter * 100:g} %"
    assert said in " ".join(DOC.read_text().split()), f"docs/protocol.md §2 should say: {said!r}"
