"""axe-core (from npm, installed by ``scripts/assets.sh --dev``) run in Chromium on a page.

The engine is read from ``node_modules/axe-core/axe.min.js`` and evaluated in the page under test
(through the DevTools protocol, so the page's Content-Security-Policy is left as served); nothing
is downloaded. :func:`run_axe` returns axe's results; :func:`serious_violations`
keeps the violations of impact ``serious`` or ``critical`` as readable lines for an assertion.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
#: The rule sets checked: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")


@cache
def axe_source() -> str:
    """The axe-core engine (a missing install is an error naming the command that installs it)."""
    if not AXE_JS.is_file():
        raise FileNotFoundError(
            f"axe-core is missing at {AXE_JS}: install the test tools with `bash scripts/assets.sh --dev`"
        )
    return AXE_JS.read_text(encoding="utf-8")


def run_axe(page: Page, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run axe-core on the page as it is now; returns its results (passes, violations…)."""
    # evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply
    page.evaluate(axe_source() + "\n;void 0")
    options = {"runOnly": {"type": "tag", "values": list(AXE_TAGS)}, "resultTypes": ["violations", "passes"]}
    context: dict[str, Any] = {"exclude": [[selector] for selector in exclude]} if exclude else {}
    results: dict[str, Any] = page.evaluate(
        "([context, options]) => axe.run(Object.keys(context).length ? context : document, options)",
        [context, options],
    )
    return results


def serious_violations(results: dict[str, Any]) -> list[str]:
    """The violations of impact serious or critical, one line each with the elements concerned."""
    lines = []
    for violation in results["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return lines


def rules_checked(results: dict[str, Any]) -> list[str]:
    """The ids of the rules that ran on the page (passed or violated)."""
    return sorted({rule["id"] for rule in (*results["passes"], *results["violations"])})
