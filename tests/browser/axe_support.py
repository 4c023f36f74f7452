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
#: Where the map's markers are drawn (left out of ``target-size`` only, see :func:`run_axe`).
MARKER_PANE = ".leaflet-marker-pane"


@cache
def axe_source() -> str:
    """The axe-core engine (a missing install is an error naming the command that installs it)."""
    if not AXE_JS.is_file():
        raise FileNotFoundError(
            f"axe-core is missing at {AXE_JS}: install the test tools with `bash scripts/assets.sh --dev`"
        )
    return AXE_JS.read_text(encoding="utf-8")


def run_axe(page: Page, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run axe-core on the page as it is now; returns its results (passes, violations…).

    Every rule of ``AXE_TAGS`` runs on the whole page (less ``exclude``), except that
    ``target-size`` (WCAG 2.2, 2.5.8) leaves out the map's markers: where a marker sits is the
    information itself (the criterion's "essential" exception), so a cluster on a neighbourhood's
    outline is not a fault. The markers still go through every other rule (name, role, focus).
    """
    # evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply
    page.evaluate(axe_source() + "\n;void 0")
    results: dict[str, Any] = page.evaluate(
        """async ([tags, exclude, markers]) => {
            const kept = sel => ({exclude: sel.map(s => [s])});
            const all = await axe.run(exclude.length ? kept(exclude) : document, {
                runOnly: {type: 'tag', values: tags}, rules: {'target-size': {enabled: false}},
                resultTypes: ['violations', 'passes']});
            const size = await axe.run(kept(exclude.concat([markers])), {
                runOnly: {type: 'rule', values: ['target-size']}, resultTypes: ['violations', 'passes']});
            return {violations: all.violations.concat(size.violations),
                    passes: all.passes.concat(size.passes)};
        }""",
        [list(AXE_TAGS), list(exclude), MARKER_PANE],
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
