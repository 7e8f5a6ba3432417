"""Running the review app: uvicorn in the foreground (``xdt review OUT``) or in a thread (tests,
benchmarks), on a port given or picked by the system (``--port 0``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import XdtError
from .auth import Users, is_loopback
from .service import ReviewService


def check_host(host: str, users: str | None) -> None:
    """Any address but loopback needs reviewers with passwords: refuse before anything starts."""
    if not is_loopback(host) and not users:
        raise XdtError(f"监听非本机地址 {host} 时必须用 --users 指定审核人文件（用 xdt review adduser 创建）",
                       f"--host {host} is not a loopback address: --users FILE is required "
                       "(create it with xdt review adduser)")


def _server_class() -> Any:
    import uvicorn

    class _Server(uvicorn.Server):
        """Tells the caller the bound address once the socket listens."""

        def __init__(self, config: uvicorn.Config, on_ready: Callable[[str, int], None] | None):
            super().__init__(config)
            self.on_ready = on_ready
            self.address: tuple[str, int] | None = None

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and self.servers:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                self.address = (str(host), int(port))
                if self.on_ready is not None:
                    self.on_ready(str(host), int(port))

    return _Server


def build_server(service: ReviewService, *, host: str, port: int, users_file: str | None = None,
                 session_hours: float | None = None, on_ready: Callable[[str, int], None] | None = None) -> Any:
    import uvicorn

    from .web import create_app

    check_host(host, users_file)
    users = Users(users_file) if users_file else None
    app = create_app(service, users=users, session_hours=session_hours)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                            server_header=False, timeout_graceful_shutdown=3)
    return _server_class()(config, on_ready)


class ThreadedServer:
    """The app on a free loopback port in a background thread (tests and the bench)."""

    def __init__(self, service: ReviewService, *, host: str = "127.0.0.1", users_file: str | None = None,
                 session_hours: float | None = None):
        self.service = service
        self.server = build_server(service, host=host, port=0, users_file=users_file, session_hours=session_hours)
        self.thread = threading.Thread(target=self.server.run, name="xdt-review", daemon=True)

    def start(self, timeout: float = 20.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while self.server.address is None:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("review server did not start")
            time.sleep(0.02)
        host, port = self.server.address
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
