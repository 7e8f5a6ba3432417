from __future__ import annotations

import argparse
import sys

HELP = ("审核确认：在浏览器中逐项确认或改判初评分，记录审核人与意见，导出最终得分和标注 / reviewer confirmation: "
        "confirm or override every preliminary score in the browser, export final scores and gold labels")

EPILOG = """\
三种用法 / three forms:
  xdt review OUT [--db PATH] [--host 127.0.0.1] [--port 8765] [--open] [--users FILE]
      在浏览器中审核 OUT（xdt batch 或 xdt screen 的输出目录）。审核记录默认存于 OUT/review.sqlite3。
      监听本机以外的地址时必须提供 --users（姓名与密码哈希）。
      serve OUT in the browser; decisions go to OUT/review.sqlite3 unless --db; any --host other than
      loopback needs --users FILE.
  xdt review adduser USERS_FILE NAME [--password-stdin] [--replace]
      添加审核人（提示输入两次密码）/ add a reviewer to a users file (asks for the password twice).
  xdt review export OUT [--xlsx final.xlsx] [--gold labels.csv] [--db PATH]
      导出最终得分工作簿（含“审核记录”表）和标注 CSV；再运行
      xdt audit --results OUT --gold labels.csv 查看规则与审核结论的逐项一致性。
      export the final workbook and the decisions as gold labels for xdt audit.
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("words", nargs="+", metavar="OUT | adduser USERS NAME | export OUT",
                        help="输出目录，或 adduser / export 子命令 / the output folder, or adduser / export")
    serve = parser.add_argument_group("审核服务 / serving")
    serve.add_argument("--db", metavar="PATH", help="审核记录数据库（默认 OUT/review.sqlite3）/ decision database")
    serve.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）/ address to listen on")
    serve.add_argument("--port", type=int, default=8765, help="端口（默认 8765，0 为自动）/ port (0: any free port)")
    serve.add_argument("--open", action="store_true", help="启动后打开浏览器 / open the browser")
    serve.add_argument("--users", metavar="FILE", help="审核人文件（xdt review adduser 创建）/ reviewers with passwords")
    serve.add_argument("--session-hours", type=float, default=None, metavar="H",
                       help="登录有效期（小时；默认有 --users 时 12，否则 720）/ session lifetime in hours")
    serve.add_argument("--sources", metavar="DIR",
                       help="原始申报材料所在的批次文件夹（批次文件夹移动过或没有清单时）/ the batch folder, if moved")
    serve.add_argument("--cache", metavar="DIR", help="批处理缓存（默认 OUT/.cache，用于原文截图）/ the batch cache")
    serve.add_argument("--framework", default=None, help="评价框架 ID 或路径（默认取自结果）/ framework ID or path")
    export = parser.add_argument_group("导出 / export")
    export.add_argument("--xlsx", metavar="FILE", help="最终得分工作簿 / the final workbook")
    export.add_argument("--gold", metavar="FILE", help="标注 CSV（xdt audit --gold 读取）/ gold labels CSV")
    adduser = parser.add_argument_group("添加审核人 / adduser")
    adduser.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码 / read the password from stdin")
    adduser.add_argument("--replace", action="store_true", help="已存在时改密码 / set a new password for an existing name")


def _usage(message_zh: str, message_en: str) -> int:
    print(f"错误 / error: {message_zh} / {message_en}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    words = list(args.words)
    if words[0] == "adduser":
        if len(words) != 3:
            return _usage("用法：xdt review adduser USERS_FILE NAME", "usage: xdt review adduser USERS_FILE NAME")
        return _adduser(words[1], words[2], args)
    if words[0] == "export":
        if len(words) != 2:
            return _usage("用法：xdt review export OUT --xlsx FILE 和/或 --gold FILE",
                          "usage: xdt review export OUT --xlsx FILE and/or --gold FILE")
        return _export(words[1], args)
    if len(words) != 1:
        return _usage("只能给出一个输出目录", "give one output folder")
    return _serve(words[0], args)


def _adduser(path: str, name: str, args: argparse.Namespace) -> int:
    from ..errors import XdtError
    from ..review.auth import add_user, clean_name

    name = clean_name(name)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        password = getpass.getpass(f"{name} 的密码 / password: ")
        if getpass.getpass("再输入一次 / again: ") != password:
            raise XdtError("两次输入的密码不一致", "the passwords differ")
    new = add_user(path, name, password, replace=args.replace)
    print(f"{'已添加审核人' if new else '已修改密码'}：{name}（{path}）/ {'added' if new else 'password changed'}")
    return 0


def _export(out: str, args: argparse.Namespace) -> int:
    from ..review.export import write_final_xlsx, write_gold_csv
    from ..review.service import ReviewService

    if not args.xlsx and not args.gold:
        return _usage("请用 --xlsx 和/或 --gold 指定导出文件", "give --xlsx and/or --gold")
    service = ReviewService(out, db=args.db, cache_dir=args.cache, sources=args.sources, framework=args.framework,
                            create=False)
    try:
        if args.xlsx:
            path = write_final_xlsx(args.xlsx, service)
            print(f"审核结果工作簿 / final workbook: {path}")
        if args.gold:
            path, written, skipped = write_gold_csv(args.gold, service)
            note = f"；{skipped} 项两位审核人结论不同、尚未裁定，未导出" if skipped else ""
            print(f"标注 / gold labels: {path}（{written} 条{note}）")
            print(f"规则与审核结论的一致性 / rules vs reviewers: xdt audit --results {out} --gold {path}")
    finally:
        service.close()
    return 0


def _serve(out: str, args: argparse.Namespace) -> int:
    import time

    from ..review.server import build_server, check_host
    from ..review.service import ReviewService

    started = time.perf_counter()
    check_host(args.host, args.users)
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        from ..errors import XdtError

        raise XdtError("未安装审核组件，请运行 pip install 'xdt-rules[review]'",
                       "the review extra is not installed: pip install 'xdt-rules[review]'") from None
    if not 0 <= args.port <= 65535:
        return _usage("端口应在 0–65535 之间", "port must be 0–65535")
    # the server listens at once and reads OUT meanwhile: 700 results take about a second
    service = ReviewService(out, db=args.db, cache_dir=args.cache, sources=args.sources, framework=args.framework,
                            defer=True)

    def load() -> None:
        try:
            service.load()
        except Exception as exc:  # noqa: BLE001 - shown on every page and here, the server stays up
            from ..errors import XdtError

            shown = exc.one_line() if isinstance(exc, XdtError) else f"{type(exc).__name__}: {exc}"
            print(f"错误 / error: {shown}", file=sys.stderr, flush=True)
            return
        count = sum(1 for e in service.out.entries.values() if e.done)
        print(f"已读取 {count} 份申报（{time.perf_counter() - started:.1f} 秒）/ {count} applications read", flush=True)
        try:
            service.warm()
        except Exception:  # noqa: BLE001 - the first application page will say what is wrong
            pass

    import threading

    threading.Thread(target=load, name="xdt-review-load", daemon=True).start()

    def ready(host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}/"
        print(f"审核服务已启动 / review server: {url}  （审核记录 {service.store.path}；"
              f"启动 {time.perf_counter() - started:.1f} 秒；Ctrl-C 停止）", flush=True)
        if args.users and not args.host.startswith("127."):
            print("注意：连接未加密（HTTP），请只在可信内网使用，或置于 HTTPS 反向代理之后 / plain HTTP: trusted networks "
                  "only, or behind an HTTPS proxy", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(url)

    server = build_server(service, host=args.host, port=args.port, users_file=args.users,
                          session_hours=args.session_hours, on_ready=ready)
    try:
        server.run()
    except SystemExit:
        pass  # uvicorn exits when it cannot bind; said below in our words
    finally:
        service.close()
    if not server.started:
        from ..errors import XdtError

        raise XdtError(f"无法在 {args.host}:{args.port} 上启动（端口已被占用？可换 --port）",
                       f"cannot listen on {args.host}:{args.port} (port in use? try another --port)")
    return 0
