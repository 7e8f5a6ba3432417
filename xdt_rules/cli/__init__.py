"""The ``xdt`` command line. Each verb is a module ``cmd_<verb>.py`` in this package with
``HELP``, ``register(parser)`` and ``run(args) -> int``; heavy imports stay inside ``run`` so
that ``xdt --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
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


# argparse's own messages, in Chinese first (the English follows): pattern → Chinese template.
_ARGPARSE_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"the following arguments are required: (.+)"), "缺少必需的参数：{0}"),
    (re.compile(r"unrecognized arguments: (.+)"), "无法识别的参数：{0}"),
    (re.compile(r"argument (\S+): invalid choice: (.+?) \(choose from (.+)\)"), "参数 {0} 的取值 {1} 无效（可选：{2}）"),
    (re.compile(r"argument (\S+): invalid int value: (.+)"), "参数 {0} 应为整数，而不是 {1}"),
    (re.compile(r"argument (\S+): invalid float value: (.+)"), "参数 {0} 应为数字，而不是 {1}"),
    (re.compile(r"argument (\S+): invalid \S+ value: (.+)"), "参数 {0} 的值 {1} 无效"),
    (re.compile(r"argument (\S+): expected one argument"), "参数 {0} 需要一个值"),
    (re.compile(r"argument (\S+): expected at least one argument"), "参数 {0} 至少需要一个值"),
    (re.compile(r"argument (\S+): not allowed with argument (\S+)"), "参数 {0} 不能与 {1} 同时使用"),
    (re.compile(r"ambiguous option: (\S+) could match (.+)"), "选项 {0} 有歧义，可能是：{1}"),
]
_CJK = re.compile(r"[\u4e00-\u9fff]")


def bilingual_usage_error(message: str) -> str:
    """``中文 / English`` for an argparse error message."""
    if _CJK.search(message):  # our own checks already say it in both languages
        return re.sub(r"^argument (\S+): ", r"参数 \1：", message)
    for pattern, template in _ARGPARSE_ZH:
        found = pattern.fullmatch(message)
        if found:
            return f"{template.format(*found.groups())} / {message}"
    return f"命令行参数有误 / {message}"


class XdtArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors in Chinese and English (house rule: 中文 / English)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: 错误 / error: {bilingual_usage_error(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = XdtArgumentParser(
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
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not as a message at exit
        return code
    except BrokenPipeError:
        # `xdt schema | head`: the reader has what it wanted; nothing to report
        _silence_stdout()
        return EXIT_OK
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


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
