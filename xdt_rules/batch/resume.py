"""The batch manifest: what was screened, from which inputs, under which rules.

``OUT/.xdt-batch/manifest.json`` has one record per application. It is rewritten atomically
each time an application finishes, after that application's JSON/HTML are on disk, so after
Ctrl-C, ``kill -9`` or a power cut it never claims a result that is not there. ``--resume``
skips an application whose record is ``done`` with the same input sha256s, the same
rules_version and the same settings, and whose outputs still exist.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ..fsutil import atomic_write_text

MANIFEST_FORMAT = 1
STATE_DIR = ".xdt-batch"

AppStatus = Literal["done", "failed"]


class AppRecord(BaseModel):
    name: str
    source: str
    status: AppStatus
    inputs: dict[str, str] = Field(default_factory=dict)
    rules_version: str
    settings_key: str
    reason: str | None = Field(None, description="why the application failed (Chinese / English)")
    outputs: list[str] = Field(default_factory=list, description="file names in OUT")
    files: int = 0
    pages: int = 0
    file_errors: int = 0
    seconds: float = 0.0
    finished_at: float = 0.0


class Manifest(BaseModel):
    format: int = MANIFEST_FORMAT
    applications: dict[str, AppRecord] = Field(default_factory=dict)
    order: list[str] = Field(default_factory=list, description="application names of the last run, in batch order")
    batch_dir: str | None = Field(None, description="the BATCH_DIR of the last run (resolved)")


def state_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / STATE_DIR


def manifest_path(out_dir: str | Path) -> Path:
    return state_dir(out_dir) / "manifest.json"


def load_manifest(out_dir: str | Path) -> Manifest:
    """The manifest in OUT, or an empty one if there is none or it is unreadable (then nothing is skipped)."""
    path = manifest_path(out_dir)
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except (FileNotFoundError, ValueError, ValidationError):
        return Manifest()
    if manifest.format != MANIFEST_FORMAT:
        return Manifest()
    return manifest


def save_manifest(out_dir: str | Path, manifest: Manifest) -> Path:
    return atomic_write_text(manifest_path(out_dir), manifest.model_dump_json(indent=1))


def is_up_to_date(record: AppRecord | None, *, inputs: dict[str, str], rules_version: str,
                  settings_key: str, out_dir: str | Path) -> bool:
    """True when ``--resume`` may skip the application: same inputs, rules and settings, outputs present."""
    if record is None or record.status != "done":
        return False
    if record.inputs != inputs or record.rules_version != rules_version or record.settings_key != settings_key:
        return False
    return bool(record.outputs) and all((Path(out_dir) / name).is_file() for name in record.outputs)


def settings_key(material: dict) -> str:
    """A digest of the settings that change results (framework, extract options, crops)."""
    import hashlib

    text = json.dumps(material, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def now() -> float:
    return round(time.time(), 3)
