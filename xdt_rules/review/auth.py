"""Who may write: reviewers, their passwords, session cookies and CSRF tokens.

- On a loopback address without ``--users`` a reviewer only gives a name, once; a signed cookie
  keeps it (30 days by default).
- Any other address needs ``--users FILE``: one reviewer per line, ``name:scrypt$…`` (written by
  ``xdt review adduser``); sessions expire (12 hours by default) and end when the reviewer's
  password changes or the reviewer is removed from the file.
- A session cookie is ``payload.signature``: the payload (reviewer, expiry, a random session id,
  a digest of the reviewer's password hash) signed with HMAC-SHA256 under a secret kept in the
  decision database, so a restart of the server keeps everyone signed in and nobody can forge one.
- Every POST carries a CSRF token: HMAC of the session id (a pre-login id for the login form),
  compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import XdtError

SESSION_COOKIE = "xdt_review"
PRELOGIN_COOKIE = "xdt_review_pre"
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
MAX_NAME = 32


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def clean_name(name: str) -> str:
    """A reviewer name as stored: NFC, trimmed; 1–32 characters, no control characters or ':'."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name or len(name) > MAX_NAME or ":" in name or any(unicodedata.category(c).startswith("C") for c in name):
        raise XdtError(f"审核人姓名须为 1–{MAX_NAME} 个字符，不含冒号和控制字符",
                       f"a reviewer name has 1–{MAX_NAME} characters, no ':' or control characters")
    return name


# ---------------------------------------------------------------------------------------------- passwords


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise XdtError("密码至少 8 个字符", "a password has at least 8 characters")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = _unb64(digest)
        found = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(expected), maxmem=128 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def _parse_users(text: str, shown: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, stored = line.rpartition(":")
        if not sep or not name or not stored.startswith("scrypt$") or stored.count("$") != 5:
            raise XdtError(f"第 {number} 行格式应为“姓名:scrypt$…”（用 xdt review adduser 生成）",
                           f"line {number}: expected 'name:scrypt$…' (made by xdt review adduser)", file=shown)
        try:
            name = clean_name(name)
        except XdtError as exc:
            raise XdtError(f"第 {number} 行：{exc.reason_zh}", f"line {number}: {exc.reason_en}", file=shown) from None
        if name in users:
            raise XdtError(f"第 {number} 行：审核人“{name}”重复", f"line {number}: reviewer '{name}' appears twice", file=shown)
        users[name] = stored
    return users


def load_users(path: str | os.PathLike[str]) -> dict[str, str]:
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise XdtError("审核人文件不存在（用 xdt review adduser 创建）", "users file not found (create it with "
                       "xdt review adduser)", file=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise XdtError(f"无法读取审核人文件：{exc}", f"cannot read the users file: {exc}", file=shown) from None
    users = _parse_users(text, shown)
    if not users:
        raise XdtError("审核人文件中没有任何审核人", "the users file lists no reviewer", file=shown)
    return users


def add_user(path: str | os.PathLike[str], name: str, password: str, *, replace: bool = False) -> bool:
    """Add a reviewer (or, with ``replace``, set a new password). Returns True when it was new.
    The file is written atomically and readable by its owner only."""
    from ..fsutil import atomic_write_text

    name = clean_name(name)
    target = Path(path)
    users: dict[str, str] = {}
    if target.exists():
        users = _parse_users(target.read_text(encoding="utf-8"), str(target))
    if name in users and not replace:
        raise XdtError(f"审核人“{name}”已存在（修改密码请加 --replace）", f"reviewer '{name}' exists (add --replace "
                       "to set a new password)", file=str(target))
    new = name not in users
    users[name] = hash_password(password)
    lines = ["# xdt review 审核人 / reviewers: 姓名:密码哈希 (scrypt)；用 xdt review adduser 添加"]
    lines += [f"{n}:{h}" for n, h in users.items()]
    atomic_write_text(target, "\n".join(lines) + "\n")
    os.chmod(target, 0o600)
    return new


class Users:
    """The users file, read again when it changes (a reviewer added while the server runs)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users = load_users(self.path)
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def current(self) -> dict[str, str]:
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp and stamp is not None:
                try:
                    self._users = load_users(self.path)
                    self._stamp = stamp
                except XdtError:
                    pass  # a half-edited file: keep the last good list
            return self._users

    def check(self, name: str, password: str) -> bool:
        stored = self.current().get(name)
        if stored is None:
            verify_password(password, "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            return False  # (the same work as a real check: the answer time does not tell names apart)
        return verify_password(password, stored)

    def stamp_of(self, name: str) -> str | None:
        stored = self.current().get(name)
        return None if stored is None else hashlib.sha256(stored.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class Session:
    reviewer: str
    sid: str
    expires: int  # epoch seconds

    @property
    def remaining(self) -> int:
        return self.expires - int(time.time())


class Signer:
    """Signed cookies and CSRF tokens under one secret."""

    def __init__(self, secret: bytes, users: Users | None = None, *, hours: float = 12.0):
        self._secret = secret
        self.users = users
        self.seconds = int(hours * 3600)

    def _mac(self, purpose: str, data: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}|{data}".encode(), hashlib.sha256).digest())

    def issue(self, reviewer: str) -> tuple[str, Session]:
        session = Session(reviewer=reviewer, sid=secrets.token_urlsafe(16), expires=int(time.time()) + self.seconds)
        body = {"r": reviewer, "s": session.sid, "e": session.expires}
        if self.users is not None:
            body["v"] = self.users.stamp_of(reviewer)
        payload = _b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._mac('session', payload)}", session

    def read(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie or len(cookie) > 4096:
            return None
        payload, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            body = json.loads(_unb64(payload))
            session = Session(reviewer=str(body["r"]), sid=str(body["s"]), expires=int(body["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.remaining <= 0:
            return None
        if self.users is not None and body.get("v") != self.users.stamp_of(session.reviewer):
            return None  # removed from the users file, or a new password
        return session

    def csrf(self, sid: str) -> str:
        return self._mac("csrf", sid)

    def csrf_ok(self, sid: str | None, token: str | None) -> bool:
        return bool(sid) and bool(token) and hmac.compare_digest(str(token), self.csrf(str(sid)))
