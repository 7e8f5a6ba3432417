"""Preliminary scoring: evidence facts → declarative rules (durable-rules) → item/element/total scores.

Only :mod:`.engine` imports durable-rules; everything else works on the models here.
"""

from .facts import FACT_DESCRIPTIONS, FACT_NAMES, ItemFacts, build_facts, build_item_facts
from .ruleset import (
    RuleBook,
    ValidationIssue,
    ValidationReport,
    load_rulebook_file,
    validate_rules_file,
)
from .score import Scored, aggregate, decide, evidence_refs, score_facts, score_mentions

__all__ = [
    "FACT_DESCRIPTIONS", "FACT_NAMES", "ItemFacts", "RuleBook", "Scored", "ValidationIssue", "ValidationReport",
    "aggregate", "build_facts", "build_item_facts", "decide", "evidence_refs",
    "load_rulebook_file", "score_facts", "score_mentions", "validate_rules_file",
]
