from __future__ import annotations

import argparse
import json

HELP = "打印结果 JSON 的 JSON Schema（含每个字段的说明）/ print the JSON Schema of the screening result, every field described"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"  # what pydantic v2 writes

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
    # every field of the models carries its description (a test walks the result schema for them)
    schema = {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema()}
    print(json.dumps(schema, ensure_ascii=False, indent=2))
    return 0
