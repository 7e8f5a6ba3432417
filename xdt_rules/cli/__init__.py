"""The ``xdt`` command line. Each verb is a module ``cmd_<verb>.py`` in this package with
``HELP``, ``register(parser)`` and ``run(args) -> int``; heavy imports stay inside ``run`` so
that ``xdt --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

from .. import __version__
from ..errors import XdtError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _command_modules() -> dict[str, ModuleType]:
    modules: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            verb = info.name[4:].replace("_", "-")
            modules[verb] = importlib.import_module(f"{__name__}.{info.name}")
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xdt",
        description="小灯塔申报材料预审工具 / pre-screening of 小灯塔 digital-transformation applications",
        epilog="初步得分仅供参考，须人工确认 / preliminary scores only; a reviewer must confirm.",
    )
    parser.add_argument("--version", action="version", version=f"xdt-rules {__version__}")
    parser.add_argument("--debug", action="store_true", help="出错时显示调用栈 / show tracebacks")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    for verb, module in _command_modules().items():
        cmd = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        module.register(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args._run(args) or 0)
    except XdtError as exc:
        if args.debug:
            raise
        print(f"错误 / error: {exc.one_line()}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if args.debug:
            raise
        print(f"内部错误 / internal error: {type(exc).__name__}: {exc}（加 --debug 查看详情）", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
