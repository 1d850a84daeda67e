"""Sphinx adapter, entry point: registers what the modules of :mod:`claims.sphinx` provide, one per job.

:mod:`~claims.sphinx.build` (the build's events, exports, fingerprint), :mod:`~claims.sphinx.box`
(the claim box), :mod:`~claims.sphinx.roles` (inline values), :mod:`~claims.sphinx.listings` (the
claim index and other generated tables), :mod:`~claims.sphinx.lookup` (finding a claim from a page),
:mod:`~claims.sphinx.verdicts` (the verdicts by evidence class) and the rest of the package.

Claims are evaluated once per build, in the Sphinx process, at ``builder-inited``,
and compared with the lock. Any drift or evaluation error is logged there (so a
``-W`` build fails whichever pages were re-read) and again at ``build-finished``,
which also sets a failing exit status. The evaluation runs on a tracked view of hwdb
(:mod:`claims.sphinx.dependencies`), and each page records the claims and hwdb values it
shows: a data edit re-reads exactly the pages that show what moved. A fingerprint of the
code and library versions is a config value with ``rebuild="env"``, so any code change
re-reads every page: nothing is served from a record that cannot see its inputs.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .sphinx.box import ClaimDirective
from .sphinx.build import check_every_claim_placed, evaluate_for_build, fingerprint, report_at_finish, tombstone
from .sphinx.chip import ClaimChipDirective, ClaimEvidenceDirective, ClaimWorkedDirective
from .sphinx.listings import (
    CiteExampleDirective,
    ClaimFigureDirective,
    ClaimIndexDirective,
    LectureArithmeticDirective,
    NotationDirective,
    SourcesDirective,
    StatementIndexDirective,
    TolerancePolicyDirective,
    VerdictRulesDirective,
    VerdictSummaryDirective,
)
from .sphinx.roles import ClaimJudgedRole, ClaimStatedRole, ClaimValueRole, ClaimVerdictRole, HwdbRole
from .sphinxnodes import depart_details, depart_summary, details, summary, visit_details, visit_summary

__all__ = ["fingerprint", "setup", "tombstone"]


def setup(app: Sphinx) -> dict[str, Any]:
    from .hwdb_tables import HwdbTableDirective, OverlayDemoDirective, SystemsDirective
    from .sphinx.stepmodel import PublishedTableDirective, StepExploreDirective, StepModelDirective
    from .sphinx.stepmodel import add_script as add_step_script
    from .sphinx.verdicts import FirmnessRulesDirective, VerdictGroupsDirective

    app.add_config_value("claims_fingerprint", "", rebuild="env", types=[str])
    app.add_object_type("claim", "claim", objname="claim", indextemplate="pair: %s; claim")
    app.add_directive_to_domain("std", "claim", ClaimDirective, override=True)
    app.add_directive("claim-chip", ClaimChipDirective)
    app.add_directive("claim-evidence", ClaimEvidenceDirective)
    app.add_directive("claim-worked", ClaimWorkedDirective)
    app.add_directive("claim-index", ClaimIndexDirective)
    app.add_directive("statement-index", StatementIndexDirective)
    app.add_directive("verdict-summary", VerdictSummaryDirective)
    app.add_directive("verdict-groups", VerdictGroupsDirective)
    app.add_directive("firmness-rules", FirmnessRulesDirective)
    app.add_directive("lecture-arithmetic", LectureArithmeticDirective)
    app.add_directive("claim-figure", ClaimFigureDirective)
    app.add_directive("hwdb-sources", SourcesDirective)
    app.add_directive("tolerance-policy", TolerancePolicyDirective)
    app.add_directive("hwdb-table", HwdbTableDirective)
    app.add_directive("hwdb-systems", SystemsDirective)
    app.add_directive("overlay-demo", OverlayDemoDirective)
    app.add_directive("verdict-rules", VerdictRulesDirective)
    app.add_directive("cite-example", CiteExampleDirective)
    app.add_directive("notation-table", NotationDirective)
    app.add_directive("step-model", StepModelDirective)
    app.add_directive("published-table", PublishedTableDirective)
    app.add_directive("explore-step", StepExploreDirective)
    app.connect("html-page-context", add_step_script)
    app.add_role("claim-value", ClaimValueRole())
    app.add_role("claim-stated", ClaimStatedRole())
    app.add_role("claim-judged", ClaimJudgedRole())
    app.add_role("claim-verdict", ClaimVerdictRole())
    app.add_role("hwdb", HwdbRole())
    app.add_node(details, html=(visit_details, depart_details))
    app.add_node(summary, html=(visit_summary, depart_summary))
    app.add_css_file("claims.css")
    app.add_js_file("claim-box.js")
    app.add_js_file("calculator.js")
    app.add_js_file("claim-index.js")
    app.setup_extension("claims.sphinx.speedups")  # work ahead and the collector, behind one switch
    app.setup_extension("claims.sphinx.citations")
    app.setup_extension("claims.sphinx.dependencies")
    app.setup_extension("claims.sphinx.unfinished")  # an interrupted build is marked and finished next time
    app.connect("builder-inited", evaluate_for_build)
    app.connect("env-check-consistency", check_every_claim_placed)
    # last of the build's own writers (after the notebooks and the inventory): it clears the unfinished mark
    app.connect("build-finished", report_at_finish, priority=800)
    app.setup_extension("claims.sphinx.changelog")
    app.setup_extension("claims.sphinx.withdrawn")  # links to a withdrawn ID go to its tombstone
    app.setup_extension("claims.sphinx.inventory")  # objects.inv: claims by title, withdrawn IDs kept
    app.setup_extension("claims.sphinx.exercises")
    app.setup_extension("claims.sphinx.explore")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
