from __future__ import annotations

import argparse
import json

HELP = "打印结果 JSON 的 JSON Schema / print the JSON Schema of the screening result"

_MODELS = {
    "application-result": ("xdt_rules.models", "ApplicationResult"),
    "document": ("xdt_rules.models", "Document"),
    "mention": ("xdt_rules.models", "Mention"),
    "validation-report": ("xdt_rules.scoring.ruleset", "ValidationReport"),
}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=sorted(_MODELS), default="application-result",
                        help="哪个模型（默认：预审结果）/ which model (default: application-result)")


def run(args: argparse.Namespace) -> int:
    import importlib

    module, name = _MODELS[args.model]
    model = getattr(importlib.import_module(module), name)
    print(json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2))
    return 0
