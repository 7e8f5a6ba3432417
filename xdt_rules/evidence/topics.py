"""A learned second opinion on what a sentence is about: one linear model per criterion item.

Keywords find a capability when the writer names it (MES, 制造执行系统, 鼎捷). Real applications
often describe it instead ("扫码报工，每批都能追到原料批次", "一块屏上就能看到每台设备在干什么").
This model scores a normalised sentence (or a table row) for every item from its character 2- and
3-grams and its Latin words, with weights learned from the project's own labelled documents
(``samples/train_topics.py``: sentences the gold labels quote for an item, against all others).

It only says which item a sentence is about. Whether the enterprise has it, plans it or lacks it is
the clause reading's business, the same as for a keyword. Its findings are mentions of kind
``model``, weaker than a keyword: evidence found only by the model is scored as weak and flagged.

The weights are data (``keywords/_topics.json``, part of the framework's fingerprint); scoring is a
sum of the weights of the sentence's features, the same on every machine.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .normalize import normalize_key

MODEL_FILE = "_topics.json"
_LATIN = re.compile(r"[a-z][a-z0-9+]*|\d+[a-z]+[a-z0-9]*")
_NOISE = re.compile(r"[\s\d.,;:!?()\[\]{}<>\"'|/\\~`@#$%^&*_=+\-·、。，；：！？（）【】《》“”‘’…—]+")
MAX_CHARS = 400  # a longer passage is scored by its first part (a table row can run on)


def topic_features(text: str) -> list[str]:
    """The features of a text: character 2- and 3-grams of its letters (digits and punctuation
    dropped, so "2021年" and "2023年" do not differ) and its Latin words ("w:mes")."""
    key = normalize_key(text)[:MAX_CHARS]
    words = ["w:" + m.group() for m in _LATIN.finditer(key)]
    letters = _NOISE.sub(" ", _LATIN.sub(" ", key))
    grams: list[str] = []
    for piece in letters.split():
        grams += [piece[i:i + 2] for i in range(len(piece) - 1)]
        grams += [piece[i:i + 3] for i in range(len(piece) - 2)]
    return grams + words


@dataclass(frozen=True)
class ModeModel:
    """Whether a sentence about some item states it as achieved, planned or lacking (a softmax over
    the three), for sentences the clause reading finds no cue in."""

    labels: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]  # feature → a weight per label
    confidence: float  # below this the guess is not used

    def mode(self, text: str) -> tuple[str, float]:
        totals = list(self.bias)
        for feature in set(topic_features(text)):
            for index, weight in enumerate(self.weights.get(feature, ())):
                totals[index] += weight
        top = max(totals)
        exps = [math.exp(t - top) for t in totals]
        best = max(range(len(exps)), key=lambda i: exps[i])
        return self.labels[best], exps[best] / sum(exps)


@dataclass(frozen=True)
class TopicModel:
    """Per item: a bias and sparse weights over a shared vocabulary, and the probability above
    which a sentence counts as being about the item; and the mode model."""

    items: tuple[str, ...]
    bias: tuple[float, ...]
    thresholds: tuple[float, ...]
    weights: dict[str, tuple[tuple[int, float], ...]]  # feature → (item index, weight)
    version: str
    modes: ModeModel | None = None

    def scores(self, text: str) -> list[float]:
        """The probability that ``text`` is about each item (in ``items`` order)."""
        totals = list(self.bias)
        for feature in set(topic_features(text)):
            for index, weight in self.weights.get(feature, ()):
                totals[index] += weight
        return [1.0 / (1.0 + math.exp(-t)) if t > -30 else 0.0 for t in totals]

    def topics(self, text: str) -> list[tuple[str, float]]:
        """(item, probability) for every item the text is about, strongest first."""
        found = [(item, p) for item, p, cut in zip(self.items, self.scores(text), self.thresholds) if p >= cut]
        found.sort(key=lambda f: -f[1])
        return found


def load_topic_model(folder: Path) -> TopicModel | None:
    """The model in a keywords folder, or None when the folder has none (the finder then goes without)."""
    path = Path(folder) / MODEL_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    items = tuple(data["items"])
    weights: dict[str, list[tuple[int, float]]] = {}
    for feature, pairs in data["weights"].items():
        weights[feature] = [(int(i), float(w)) for i, w in pairs]
    modes = None
    if "modes" in data:
        m = data["modes"]
        modes = ModeModel(labels=tuple(m["labels"]), bias=tuple(float(b) for b in m["bias"]),
                          weights={f: tuple(float(v) for v in ws) for f, ws in m["weights"].items()},
                          confidence=float(m["confidence"]))
    return TopicModel(items=items, bias=tuple(float(b) for b in data["bias"]),
                      thresholds=tuple(float(t) for t in data["thresholds"]),
                      weights={f: tuple(p) for f, p in weights.items()}, version=str(data.get("version", "")),
                      modes=modes)
