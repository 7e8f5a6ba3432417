"""Rule coverage audit (``xdt audit``) and rule tests (``xdt test-rules``).

Modules (each a plain function over pydantic models):

- ``static``      framework + keywords + rules on their own: per-item coverage, errors, dead rules,
                  ambiguous keywords, cue lists
- ``results``     reading a folder of screening result JSON files
- ``dynamic``     what a screened batch says: statuses per item, keyword and rule hit counts
- ``labels``      reference labels: the samples' gold YAML or reviewers' CSV
- ``agreement``   results vs labels: P/R/F1 per item, confusion matrix, every false positive/negative
- ``documents``   the applications' text for the parts that read it (cache, manifest, --docs)
- ``vocabulary``  frequent terms of the sentences no keyword matched (suggestions for keywords/)
- ``ruletests``   YAML cases beside the rules, run through the real pipeline, with coverage
- ``report``      :func:`run_audit` ties the audit sections together into an :class:`AuditReport`
- ``render``      rich terminal and self-contained HTML
"""

from __future__ import annotations
