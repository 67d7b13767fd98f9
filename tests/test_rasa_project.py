"""The Rasa project as a whole: data validates, the held-out NLU set meets its targets, dialogue flows hold.

Runs Rasa's own commands on the trained model (scripts/test.sh trains it first
when its inputs changed). The held-out set tests/nlu_test.yml is never trained on.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.runtime.model import MODEL, ROOT

RASA = str(Path(sys.executable).with_name("rasa"))
ENV = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="no trained model (run scripts/test.sh)")


def examples(path: Path):
    out = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" in block:
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    plain = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line[2:]).strip()
                    out.append((block["intent"], plain))
    return out


def test_held_out_set_is_never_trained_on():
    train = {t for _, t in examples(ROOT / "data" / "nlu.yml")}
    test = examples(ROOT / "tests" / "nlu_test.yml")
    assert len(test) >= 150
    assert not [t for _, t in test if t in train]
    assert not list((ROOT / "data").rglob("nlu_test*"))


@pytest.mark.slow
def test_rasa_data_validate_has_no_errors():
    out = subprocess.run([RASA, "data", "validate"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # The only warnings allowed: responses that a custom action utters by name (the validator
    # reads stories and rules only), e.g. utter_default when the documents do not answer.
    from actions import actions
    uttered = {getattr(c, "response", "") for c in vars(actions).values() if isinstance(c, type)} - {""}
    assert uttered, "the fallback actions name their responses"
    warnings = [l for l in (out.stdout + out.stderr).splitlines() if "UserWarning" in l]
    assert all(any(f"'{r}' is not used" in w for r in uttered) for w in warnings), warnings


@pytest.mark.slow
@needs_model
def test_held_out_nlu_targets(tmp_path):
    out = subprocess.run([RASA, "test", "nlu", "--nlu", "tests/nlu_test.yml", "--model", str(MODEL), "--out",
                          str(tmp_path)], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    intents = json.loads((tmp_path / "intent_report.json").read_text())
    diet = json.loads((tmp_path / "DIETClassifier_report.json").read_text())
    figures = {"intent_macro_f1": intents["macro avg"]["f1-score"]}
    figures.update({f"entity_f1_{k}": diet[k]["f1-score"] for k in ("district", "industry", "size", "topic")})
    print(json.dumps(figures, indent=1))
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "nlu_heldout.json").write_text(json.dumps(figures, indent=1))
    assert figures["intent_macro_f1"] >= 0.95
    for k in ("district", "industry", "size", "topic"):
        assert figures[f"entity_f1_{k}"] >= 0.92, (k, figures)


@pytest.mark.slow
@needs_model
def test_conversation_stories(tmp_path):
    out = subprocess.run([RASA, "test", "core", "--stories", "tests/test_stories.yml", "--model", str(MODEL), "--out",
                          str(tmp_path), "--fail-on-prediction-errors"], cwd=ROOT, env=ENV, capture_output=True,
                         text=True, timeout=900)
    failed = (tmp_path / "failed_test_stories.yml")
    assert out.returncode == 0, (failed.read_text() if failed.exists() else "") + out.stdout[-2000:]


def test_generated_training_artifacts_do_not_depend_on_the_hash_seed():
    """`make run` retrains only when the model's inputs change: the generated lookup tables
    and jieba dictionary must come out byte for byte the same in every process."""
    code = "from bot.lexicon_artifacts import render_lookups, render_userdict; print(render_lookups() + render_userdict())"
    outputs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env=dict(ENV, PYTHONHASHSEED=seed)).stdout
               for seed in ("1", "2", "3")}
    assert len(outputs) == 1 and "lookup: district" in next(iter(outputs))
