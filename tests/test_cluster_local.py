"""``xdt batch --cluster local:N``: a LocalCluster of worker processes gives what the local pool
gives, byte for byte, and a re-score after a rules edit sends nothing to the cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_batch_support import run_batch_cli
from test_cluster_support import (
    REPO,
    SAMPLES,
    cache_entries,
    outputs,
    report_rows,
    small_batch,
    statuses,
    wide_env,
)

pytest.importorskip("distributed")


def test_local_cluster_outputs_and_caches_are_those_of_the_local_pool(tmp_path: Path):
    batch = small_batch(tmp_path / "batch")
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    assert run_batch_cli(batch, local, "--jobs", "2", "--quiet").returncode == 0
    run = run_batch_cli(batch, cluster, "--cluster", "local:2", env=wide_env(), timeout=300)
    assert run.returncode == 0, run.stderr
    rows = report_rows(run.stderr)
    assert rows["发往集群 applications shipped"] == "4" and rows["完成 done"] == "4"
    assert outputs(cluster) == outputs(local)
    assert statuses(cluster) == statuses(local) == {"01_strong_manufacturer": "done", "06_table_only_chemical": "done",
                                                    "规划企业": "done", "打包企业": "done"}
    # what the workers parsed, matched and rendered came back into this machine's caches
    assert cache_entries(cluster) == cache_entries(local)
    # the zip was unpacked into OUT as the local pool does (the review app opens its members there)
    assert sorted(p.name for p in (cluster / ".xdt-batch" / "unzipped" / "打包企业").rglob("*.pdf")) == \
        sorted(p.name for p in (local / ".xdt-batch" / "unzipped" / "打包企业").rglob("*.pdf"))

    # a rules edit: every file's evidence is cached here, so nothing is shipped
    framework = tmp_path / "framework"
    shutil.copytree(REPO / "rules" / "kunming-xdt", framework)
    rules = framework / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# 规则修订\n", encoding="utf-8")
    assert run_batch_cli(batch, local, "--jobs", "2", "--quiet", "--resume", "--framework", str(framework)).returncode == 0
    rescore = run_batch_cli(batch, cluster, "--cluster", "local:2", "--resume", "--framework", str(framework),
                            env=wide_env(), timeout=300)
    assert rescore.returncode == 0, rescore.stderr
    rows = report_rows(rescore.stderr)
    assert rows["发往集群 applications shipped"] == "0"
    assert rows["本机完成（证据已缓存）screened here (cached)"] == "4"
    assert rows["发送/接收 MB sent/received"] == "0.0/0.0"
    assert outputs(cluster) == outputs(local)


@pytest.mark.slow
def test_local_cluster_screens_the_sample_batch_byte_identical_to_the_local_pool(tmp_path: Path):
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    assert run_batch_cli(SAMPLES, local, "--jobs", "2", "--quiet", timeout=900).returncode == 0
    run = run_batch_cli(SAMPLES, cluster, "--cluster", "local:2", "--quiet", timeout=900)
    assert run.returncode == 0, run.stderr
    assert len(outputs(cluster)) == 2 * 35 + 2  # and index.html, summary.csv
    assert outputs(cluster) == outputs(local)
    assert set(statuses(cluster).values()) == {"done"}
