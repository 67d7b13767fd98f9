"""`rasa` with the project's runtime fixes applied: ``python -m bot.nlu.launch run -m … ``.

1. Rasa 3.6 checks every action-server reply with ``jsonschema.validate(result, schema)``,
which first re-validates the (large, draft 2020-12) schema itself against its
metaschema: about 50 ms of CPU per custom-action call on our 2-core machine, the single
largest cost of a turn. Here the validator is built once at start-up — the same
schema and the same errors, so a malformed reply is still rejected exactly as before.

2. The predict graph (NLU pipeline, policies) runs on ``SequentialGraphRunner``
(bot/nlu/graph_runner.py) instead of dask's scheduler: the same nodes, each after the
nodes it needs, in an order planned once instead of for every message.

`make run`, the end-to-end tests and the benchmark all start Rasa through this module,
so what is measured is what runs. Any other `rasa` command line works unchanged
(``python -m bot.nlu.launch shell``).
"""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional


def patch_action_result_validation() -> None:
    """Replace RemoteAction._validate_action_result with one that reuses a prebuilt validator."""
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import DOCS_BASE_URL, RemoteAction

    if getattr(RemoteAction._validate_action_result, "prebuilt_validator", False):
        return
    spec = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(spec)
    cls.check_schema(spec)  # what jsonschema.validate does on every call, done once
    validator = cls(spec)

    def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as e:  # the message Rasa 3.6 gives
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions")
            raise e
        return True

    _validate_action_result.prebuilt_validator = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result


def patch_graph_runner() -> None:
    """Load models for serving with the sequential runner (training keeps dask)."""
    import rasa.core.processor
    from bot.nlu.graph_runner import SequentialGraphRunner

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner


def patch_runtime() -> None:
    """Every fix above; what `make run`, the tests and the benchmark start Rasa with."""
    patch_action_result_validation()
    patch_graph_runner()


def main(argv: Optional[List[str]] = None) -> None:
    patch_runtime()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa"] + list(sys.argv[1:] if argv is None else argv)
    rasa_main()


if __name__ == "__main__":
    main()
