"""Imports point one way: imuform -> dashboards -> analysis; analysis and firmware_protocol import nothing of ours."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"imuform", "firmware_protocol", "analysis", "dashboards"}
ALLOWED = {
    "firmware_protocol": {"firmware_protocol"},
    "analysis": {"analysis"},
    "dashboards": {"dashboards", "analysis"},
    "imuform": OURS,
}
PURE_FORBIDDEN = {"asyncio", "bleak", "bumble"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package):
    for path in (ROOT / package).rglob("*.py"):
        bad = (_imports(path) & OURS) - ALLOWED[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}, against the layering of DEVELOPERS.md"


def test_firmware_protocol_is_pure():
    for path in (ROOT / "firmware_protocol").rglob("*.py"):
        bad = _imports(path) & PURE_FORBIDDEN
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}; firmware_protocol is bytes in, samples out"


def test_the_simulators_truth_holds_no_analysis_code():
    # the truth is what the analysis is measured against: it must not share the analysis' rules
    for path in (ROOT / "imuform" / "simulator").rglob("*.py"):
        assert "analysis" not in _imports(path), f"{path.relative_to(ROOT)} imports analysis; the truth must not"
