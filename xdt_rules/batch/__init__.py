"""Bulk pre-screening (`xdt batch`): a folder of applications in, per-application reports and a
ranked summary out — in parallel, cached, resumable, and never losing finished work.

Modules (each small, each a plain function over pydantic models):

- ``inputs``     batch entries (folder / loose file / zip package) and safe zip extraction
- ``resume``     the manifest in OUT that makes ``--resume`` skip unchanged applications
- ``executor``   the process-pool seam: workers, per-file time limits, dead-worker replacement
- ``work``       what one worker does for one application (cached loader, screening, outputs)
- ``cluster``    the Dask backend (``--scheduler`` / ``--cluster local:N``): what to ship, what comes back
- ``cluster_worker`` what a Dask worker does with a shipped application; ``shipment`` what crosses the network
- ``duplicates`` near-duplicate passages across applications (consultant boilerplate)
- ``summary``    summary.xlsx / summary.csv / index.html rebuilt from the JSON files in OUT
- ``progress``   the rich progress bar
- ``runner``     ties them together: :func:`run_batch`

Heavy imports stay inside the modules so that ``import xdt_rules.batch`` is cheap.
"""

from __future__ import annotations

__all__ = ["run_batch", "BatchOptions", "BatchReport"]


def __getattr__(name: str):  # lazy re-exports: the CLI imports this package on every start
    if name in __all__:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
