from __future__ import annotations

import argparse

from .options import add_framework_arguments, framework_of

HELP = ("运行规则旁的测试用例（如 opa test）/ run the rule test cases kept beside the rules "
        "(rules/<framework>/tests/*.yaml), like opa test")


def register(parser: argparse.ArgumentParser) -> None:
    add_framework_arguments(parser)
    parser.add_argument("--cases", metavar="DIR", help="用例目录（默认 rules/<框架>/tests）/ case folder (default: the framework's tests/)")
    parser.add_argument("--run", metavar="PATTERN", help="只运行名称匹配（通配符）或针对该评价项的用例 / only cases whose name "
                                                         "matches the glob, or that check this item ID")
    parser.add_argument("--coverage", action="store_true", help="列出各规则、各评价项被用例覆盖的情况 / rule coverage by the cases")
    parser.add_argument("-v", "--verbose", action="store_true", help="也列出通过的用例 / list passing cases too")
    parser.add_argument("--json", action="store_true", help="输出 JSON / print JSON")


def run(args: argparse.Namespace) -> int:
    from ..audit.render import print_rule_tests
    from ..audit.ruletests import run_rule_tests

    report = run_rule_tests(framework_of(args), folder=args.cases, select=args.run)
    if args.json:
        import json

        data = report.model_dump(mode="json")
        data["summary"] = {o: report.count(o) for o in ("pass", "fail", "known_failure", "fixed", "error")}
        data["summary"].update(ok=report.ok, rule_coverage=report.coverage.rule_percent,
                               item_rule_coverage=report.coverage.pair_percent)
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print_rule_tests(report, verbose=args.verbose, coverage=args.coverage)
    return 0 if report.ok else 1
