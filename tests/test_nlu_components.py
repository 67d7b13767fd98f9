"""The project's own NLU component subclasses give exactly what the Rasa component they
replace gives, on the trained model's real features."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_rasa_project import examples

ROOT = Path(__file__).resolve().parent.parent
AWKWARD = ["", "😀😀", "'; DROP TABLE measures; --", "海珠區個體戶有冇社保補貼？？", "a" * 2000, "ｈｅｌｌｏ　ＡＢＣ"]


@pytest.mark.slow
def test_sentence_rows_are_the_matrix_stock_logistic_regression_builds(trained_processor):
    from rasa.core.channels import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    from bot.nlu.intent_classifier import SentenceLogisticRegressionClassifier

    runner = trained_processor.graph_runner
    nodes = runner._graph_schema.nodes
    classifier = next(name for name, node in nodes.items() if node.uses is SentenceLogisticRegressionClassifier)
    featurized = nodes[classifier].needs["messages"]  # the messages as the classifier receives them
    texts = [t for _, t in examples(ROOT / "tests" / "nlu_test.yml")] + AWKWARD
    messages = runner.run(inputs={PLACEHOLDER_MESSAGE: [UserMessage(t) for t in texts]},
                          targets=[featurized])[featurized]
    assert len(messages) == len(texts)

    def same(a, b):
        return a.shape == b.shape and (a != b).nnz == 0

    stock = LogisticRegressionClassifier._create_X(None, messages)  # self is unused by both
    ours = SentenceLogisticRegressionClassifier._create_X(None, messages)
    assert stock.shape[1] > 1000 and same(stock.tocsr(), ours)
    for m in messages[:40] + messages[-len(AWKWARD):]:  # one message at a time, as when serving
        assert same(LogisticRegressionClassifier._create_X(None, [m]).tocsr(),
                    SentenceLogisticRegressionClassifier._create_X(None, [m]))
