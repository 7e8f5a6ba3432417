"""The review over real HTTP: sign-in, decisions, stale writes, files, and the security checks
(loopback only without passwords, CSRF on every POST, no path outside the batch, escaping)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from support import CATALOGUE
from test_review_support import CliServer, Client, real_batch, synthetic_out, synthetic_result, write_result
from xdt_rules.cli import main
from xdt_rules.models import FileRecord
from xdt_rules.review.server import ThreadedServer, check_host
from xdt_rules.review.service import ReviewService
from xdt_rules.review.store import Store

Q = urllib.parse.quote


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return real_batch(tmp_path_factory.mktemp("review-http"))


@pytest.fixture
def served(batch_out: tuple[Path, Path], tmp_path: Path):  # noqa: ANN201
    """The real batch served in a thread, a fresh decision database per test."""
    service = ReviewService(batch_out[1], db=tmp_path / "review.sqlite3")
    server = ThreadedServer(service)
    url = server.start()
    yield url, service
    server.stop()
    service.close()


def signed_in(url: str, name: str = "张三") -> Client:
    client = Client(url)
    answer = client.login(name)
    assert answer.status == 200 and f"<strong>{name}</strong>" in answer.text
    return client


def test_every_page_asks_for_a_reviewer_first(served) -> None:
    url, _ = served
    client = Client(url)
    answer = client.get("/")
    assert answer.status == 200 and "审核人登录" in answer.text  # redirected to the sign-in page
    assert client.get(f"/a/{Q('甲公司')}").text.count("审核人登录") == 1
    assert client.post_json(f"/a/{Q('甲公司')}/decide", {"item": "1.3.1"}).status == 401
    client = signed_in(url)
    page = client.get("/")
    assert "甲公司" in page.text and "乙公司" in page.text and "未审" in page.text


def test_a_decision_over_http_updates_the_page_and_is_kept(served) -> None:
    url, service = served
    client = signed_in(url)
    answer = client.decide("甲公司", "1.3.1")
    assert answer.status == 200, answer.text
    data = answer.json()
    assert data["ok"] and data["label"] == "已确认" and data["css"] == "decided"
    assert "张三" in data["item_html"] and 'id="decided-count">1/36' in data["summary_html"]
    assert float(answer.headers["server-timing"].split("dur=")[1]) < 1000
    page = client.get(f"/a/{Q('甲公司')}")
    assert 'id="dec-1.3.1" data-base="1"' in page.text and "已确认" in page.text
    assert [d.item for d in service.store.decisions()] == ["1.3.1"]
    listing = client.get("/")
    assert "审核中" in listing.text and "1/36" in listing.text
    active = client.get(f"/?state={Q('审核中')}")
    assert 'data-app="甲公司"' in active.text and 'data-app="乙公司"' not in active.text
    untouched = client.get(f"/?state={Q('未审')}&sort=confirmed&dir=desc")
    assert 'data-app="乙公司"' in untouched.text and 'data-app="甲公司"' not in untouched.text


def test_a_second_reviewer_on_a_stale_view_is_refused(served) -> None:
    url, service = served
    zhang, li = signed_in(url, "张三"), signed_in(url, "李四")
    base, digest = li.item_view("甲公司", "1.3.2")  # 李四 opens the page…
    assert zhang.decide("甲公司", "1.3.2").status == 200  # …张三 confirms meanwhile
    answer = li.post_json(f"/a/{Q('甲公司')}/decide", {"item": "1.3.2", "action": "override", "base": base,
                                                       "hash": digest, "status": "planned", "score": "0",
                                                       "comment": "只是计划"})
    assert answer.status == 409
    body = answer.json()
    assert body["stale"] and "张三" in body["error"] and "刷新" in body["error"]
    assert [d.reviewer for d in service.store.decisions()] == ["张三"]
    # after reloading, 李四's disagreement is recorded: a conflict to settle on the agreement page
    assert li.decide("甲公司", "1.3.2", "override", status="planned", score="0", comment="只是计划").status == 200
    agreement = li.get("/agreement")
    assert "待裁定的分歧（1）" in agreement.text and "采纳 张三" in agreement.text


def test_post_without_a_csrf_token_is_refused(served) -> None:
    url, service = served
    client = signed_in(url)
    base, digest = client.item_view("甲公司", "1.3.1")
    payload = {"item": "1.3.1", "action": "confirm", "base": base, "hash": digest}
    path = f"/a/{Q('甲公司')}/decide"
    assert client.post_json(path, payload, csrf="").status == 403
    assert client.post_json(path, payload, csrf="forged-token").status == 403
    other = signed_in(url, "李四")  # another session's token is not this session's
    assert client.post_json(path, payload, csrf=other.csrf).status == 403
    foreign = client.post_json(path, payload, headers={"Origin": "http://evil.example"})
    assert foreign.status == 403
    assert client.post_form("/settle", {"application": "甲公司", "item": "1.3.1", "comment": "x"}).status == 403
    assert client.post_form("/logout", {}).status == 403
    assert Client(url).post_form("/login", {"name": "王五"}).status == 403  # the sign-in form has a token too
    assert service.store.decisions() == []
    assert client.post_json(path, payload).status == 200  # with the page's token it goes through


def test_original_files_are_served_read_only_and_nothing_outside(served, batch_out) -> None:
    url, _ = served
    batch, _ = batch_out
    client = signed_in(url)
    ok = client.get(f"/a/{Q('甲公司')}/file?path={Q('申报书.pdf')}")
    assert ok.status == 200 and ok.headers["content-type"] == "application/pdf"
    assert ok.body == (batch / "甲公司" / "申报书.pdf").read_bytes()
    for bad in ("../乙公司/申报书.pdf", "../../../../etc/passwd", "/etc/passwd", str(batch / "甲公司" / "申报书.pdf"),
                "C:\\Windows\\win.ini", "..\\乙公司\\申报书.pdf", "a/../../x"):
        answer = client.get(f"/a/{Q('甲公司')}/file?path={Q(bad)}")
        assert answer.status == 400, bad
        assert "路径无效" in answer.text and "root:" not in answer.text
    assert client.get(f"/a/{Q('甲公司')}/file?path={Q('别的文件.pdf')}").status == 404
    assert client.get(f"/a/{Q('甲公司')}/file?path=").status == 400
    report = client.get(f"/a/{Q('甲公司')}/report")
    assert report.status == 200 and "sandbox" in report.headers["content-security-policy"]


def test_a_symlink_out_of_the_batch_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.pdf"
    outside.write_bytes(b"%PDF-1.4 secret")
    batch = tmp_path / "batch"
    (batch / "A00").mkdir(parents=True)
    os.symlink(outside, batch / "A00" / "申报书.pdf")
    out = tmp_path / "out"
    sha = hashlib.sha256(outside.read_bytes()).hexdigest()
    write_result(out, synthetic_result("A00", files=[FileRecord(path="申报书.pdf", sha256=sha, pages=1)]))
    service = ReviewService(out, sources=batch)
    with ThreadedServer(service) as url:
        client = signed_in(url)
        answer = client.get(f"/a/A00/file?path={Q('申报书.pdf')}")
        assert answer.status == 403 and b"secret" not in answer.body
    service.close()


def test_text_from_documents_is_escaped(tmp_path: Path) -> None:
    hostile = '我公司上线ERP系统<script>alert("xss")</script><img src=x onerror=alert(1)>'
    out = tmp_path / "out"
    write_result(out, synthetic_result("A00", statuses={"1.3.1": ("met", 2.1429)}, evidence_text=hostile,
                                       reasons=["<script>alert('reason')</script>"],
                                       files=[FileRecord(path="<script>x</script>.pdf", sha256="0" * 64, pages=1)]))
    service = ReviewService(out)
    with ThreadedServer(service) as url:
        client = signed_in(url)
        answer = client.decide("A00", "1.3.1", "override", status="partial", score="1",
                               comment="<script>alert('comment')</script>")
        assert answer.status == 200 and "<script>alert" not in answer.json()["item_html"]
        for page in (client.get("/a/A00"), client.get("/log"), client.get("/")):
            assert page.status == 200
            assert "<script>alert" not in page.text and "<img src=x" not in page.text
        page = client.get("/a/A00").text
        assert "&lt;script&gt;alert(" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
        assert page.count("<script") == 1  # only the page's own script tag (src, no inline code)
        csp = client.get("/a/A00").headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    service.close()


def test_a_non_loopback_host_without_users_is_refused(batch_out, capsys) -> None:
    _, out = batch_out
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        assert main(["review", str(out), "--host", host, "--port", "0"]) == 1
        assert "--users" in capsys.readouterr().err
    check_host("127.0.0.1", None)
    check_host("localhost", None)
    check_host("::1", None)
    check_host("0.0.0.0", "users.txt")  # with reviewers and passwords it may


def test_users_file_passwords_and_sessions_that_expire(batch_out, tmp_path: Path, monkeypatch, capsys) -> None:
    users = tmp_path / "users.txt"
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse\n"))
    assert main(["review", "adduser", str(users), "王五", "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["review", "adduser", str(users), "赵六", "--password-stdin"]) == 1  # under 8 characters
    assert "8" in capsys.readouterr().err
    assert oct(users.stat().st_mode & 0o777) == "0o600" and "correct horse" not in users.read_text()
    service = ReviewService(batch_out[1], db=tmp_path / "review.sqlite3")
    server = ThreadedServer(service, users_file=str(users), session_hours=2 / 3600)
    url = server.start()
    try:
        client = Client(url)
        assert client.login("王五", "wrong password").status == 401
        assert client.login("不存在的人", "correct horse").status == 401
        answer = client.login("王五", "correct horse")
        assert answer.status == 200 and "<strong>王五</strong>" in answer.text
        assert client.decide("甲公司", "1.3.1").status == 200
        time.sleep(2.5)  # the session (2 s here) expires
        assert "审核人登录" in client.get("/").text
        assert client.post_json(f"/a/{Q('甲公司')}/decide", {"item": "1.3.1"}).status == 401
        assert client.login("王五", "correct horse").status == 200
        monkeypatch.setattr(sys, "stdin", io.StringIO("another password\n"))
        assert main(["review", "adduser", str(users), "王五", "--password-stdin", "--replace"]) == 0
        assert "审核人登录" in client.get("/").text  # a new password ends the old sessions
    finally:
        server.stop()
        service.close()
    assert [d.reviewer for d in Store(tmp_path / "review.sqlite3").decisions()] == ["王五"]


def test_kill_9_of_the_server_loses_no_acknowledged_decision(batch_out, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(batch_out[1], out)
    server = CliServer(out)
    acknowledged = []
    try:
        assert "审核服务已启动" in server.output
        client = signed_in(server.url)
        for item in [i.id for i in CATALOGUE.items][:8]:
            answer = client.decide("甲公司", item)
            assert answer.status == 200
            acknowledged.append(answer.json()["seq"])
        server.kill9()
    finally:
        server.stop()
    with Store(out / "review.sqlite3") as store:
        assert [d.seq for d in store.decisions()] == acknowledged
    # and the review goes on where it stopped
    again = CliServer(out)
    try:
        page = signed_in(again.url).get(f"/a/{Q('甲公司')}")
        assert 'id="decided-count">8/36' in page.text
    finally:
        again.stop()


def test_synthetic_out_without_manifest_has_no_original_files(tmp_path: Path) -> None:
    out = synthetic_out(tmp_path / "out", count=2)
    service = ReviewService(out)
    with ThreadedServer(service) as url:
        client = signed_in(url)
        page = client.get("/a/A00")
        assert "--sources" in page.text
        assert client.get(f"/a/A00/file?path={Q('申报书.pdf')}").status == 404
        assert client.get("/a/nope").status == 404
        assert client.get("/static/../store.py").status == 404
    service.close()
