"""What a failed test leaves behind: a folder of artifacts and report sections.

- ``artifacts_dir(item)``: ``tests/.artifacts/<test id>/`` (or under
  ``$PORTHOLE_TEST_ARTIFACTS``), created on first use. Screenshots, logs.
- ``add_failure_section(item, title, supplier)``: when the test fails, the text
  ``supplier()`` returns is printed in pytest's failure report under ``title``
  (and written to the artifacts folder). Use it for browser consoles, process
  logs, anything that explains a failure.
- ``test_failed(item)``: True once the setup or call phase of ``item`` failed;
  fixtures call it in their teardown to decide whether to save artifacts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_reports_key = pytest.StashKey[dict]()
_sections_key = pytest.StashKey[list]()


def artifacts_root() -> Path:
    return Path(os.environ.get("PORTHOLE_TEST_ARTIFACTS") or REPO / "tests" / ".artifacts")


def artifacts_dir(item: pytest.Item, create: bool = True) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:150]
    path = artifacts_root() / name
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def add_failure_section(item: pytest.Item, title: str, supplier: Callable[[], str]) -> None:
    item.stash.setdefault(_sections_key, []).append((title, supplier))


def test_failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_reports_key, {})
    return any(rep.failed for rep in reports.values())


test_failed.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test, if someone imports it into a test module


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    item.stash.setdefault(_reports_key, {})[rep.when] = rep
    if rep.failed and rep.when in ("setup", "call"):
        for title, supplier in item.stash.get(_sections_key, []):
            try:
                text = supplier()
            except Exception as exc:  # noqa: BLE001 - the report must still come out
                text = f"(could not collect: {type(exc).__name__}: {exc})"
            rep.sections.append((title, text))
            fname = re.sub(r"[^A-Za-z0-9_.-]+", "_", title) + ".txt"
            (artifacts_dir(item) / fname).write_text(text + "\n")
    return rep
