"""Session-wide test hooks: the fault-injection summary table."""

from __future__ import annotations

from typing import Any

FAULT_SUMMARY: list[dict[str, Any]] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault-injection scenarios and how each ended."""
    if not FAULT_SUMMARY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("download fault injection")
    write(f"{'scenario':<34} {'first try':<44} {'retry':<10} {'final file'}")
    for row in FAULT_SUMMARY:
        write(f"{row['scenario']:<34} {row['first']:<44.44} {row['retry']:<10} {row['final']}")
