"""Train the Rasa model only when something it is trained from has changed.

Rasa's own cache fingerprints config and training data but not the jieba
dictionary files; this stamp covers everything the model is built from.
``python -m bot.runtime.model`` prints the model path (training first if needed).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "policy.tar.gz"
STAMP = ROOT / "models" / "policy.inputs.sha256"
INPUTS = ["config.yml", "domain.yml", "data", "bot/nlu/dictionary", "bot/nlu/normalizer.py", "bot/nlu/intent_classifier.py", "bot/textnorm.py"]


def fingerprint(names: Sequence[str] = tuple(INPUTS)) -> str:
    """A hash of every file a model is trained from (paths relative to the project root)."""
    h = hashlib.sha256()
    for name in names:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            # not .md: data/README.md says how to edit the data, it is not trained on
            if f.suffix in (".yml", ".yaml", ".txt", ".py") and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def ensure_model(force: bool = False) -> Path:
    want = fingerprint()
    if not force and MODEL.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        return MODEL
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    rasa = Path(sys.executable).with_name("rasa")
    log = ROOT / "var" / "log" / "train.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"training the Rasa model (inputs changed; log in {log.relative_to(ROOT)}) …", file=sys.stderr, flush=True)
    with open(log, "w") as fh:
        done = subprocess.run([str(rasa), "train", "--force", "--fixed-model-name", "policy", "--out", "models"],
                              cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise SystemExit(f"rasa train failed (exit {done.returncode}); see {log}")
    STAMP.write_text(want + "\n")
    return MODEL


if __name__ == "__main__":
    print(ensure_model(force="--force" in sys.argv))
