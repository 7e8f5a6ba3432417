"""Reviewer confirmation (``xdt review``): reviewers confirm or override every preliminary score.

The parts, each a small module:

- :mod:`.store` — the SQLite file (WAL): an append-only decision log, versioned schema with
  migrations; the current decisions are derived from the log, never written in place;
- :mod:`.outdir` — what a batch output folder holds: the ranked applications (the numbers of
  ``summary.xlsx``), each item's preliminary status and a fingerprint of its evidence, the
  original files (only those of the batch), the evidence views in the batch cache;
- :mod:`.ledger` — the decisions of the log folded into per-item states: decided, open, changed
  since decided (re-screened), in conflict between reviewers; per-application progress;
- :mod:`.agreement` — Cohen's κ between reviewers per element and overall, conflicts to settle;
- :mod:`.export` — the final workbook and the gold labels ``xdt audit --gold`` reads;
- :mod:`.service` — everything above behind one object the web app and the CLI call;
- :mod:`.auth` — reviewers: a name on loopback, name and password (``--users``) elsewhere;
  signed session cookies that expire, CSRF tokens;
- :mod:`.web` — the Starlette app (Jinja2 templates, plain JavaScript served from the package).
"""

from __future__ import annotations

STATUSES: tuple[str, ...] = ("met", "partial", "planned", "negated", "not_found")
DB_NAME = "review.sqlite3"
