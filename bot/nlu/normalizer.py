"""First step of the NLU pipeline: make what users type comparable to the lexicon.

Traditional → simplified (OpenCC), full-width → half-width, control characters
blanked. Every change keeps the text's length, so entity offsets annotated in
training data stay valid.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.textnorm import to_halfwidth, to_simplified

#: What an empty message becomes before classification.
EMPTY_MESSAGE = "空白消息"


def normalize_same_length(text: str) -> str:
    """Normalise without changing the length (phrase-level conversions fall back to per character)."""
    if not text:
        return text
    cleaned = "".join(" " if (ord(c) < 32 and c not in "\n\t") or 0x200B <= ord(c) <= 0x200F else c for c in text)
    half = to_halfwidth(cleaned)
    simple = to_simplified(half)
    if len(simple) == len(half):
        return simple
    out = []
    for ch in half:
        conv = to_simplified(ch)
        out.append(conv if len(conv) == 1 else ch)
    return "".join(out)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ChineseNormalizer(GraphComponent):
    """Rewrites the message text in place before the tokenizer sees it."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ChineseNormalizer":
        return cls()

    @staticmethod
    def required_packages() -> List[Text]:
        return ["opencc"]

    def _normalize(self, message: Message) -> None:
        text: Optional[str] = message.get(TEXT)
        if text is not None and not text.strip() and message.get("intent") is None:
            # An empty message has no features, and Rasa 3.6's LogisticRegressionClassifier
            # fails on a featureless message; give it words that lead to a polite fallback.
            message.set(TEXT, EMPTY_MESSAGE, add_to_output=True)
        elif text:
            message.set(TEXT, normalize_same_length(text), add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages
