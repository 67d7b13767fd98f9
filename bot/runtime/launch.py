"""`rasa` with the project's runtime fixes applied: ``python -m bot.runtime.launch run -m … ``.

1. Rasa 3.6 checks every action-server reply with ``jsonschema.validate(result, schema)``,
which first re-validates the (large, draft 2020-12) schema itself against its
metaschema: about 50 ms of CPU per custom-action call on our 2-core machine, the single
largest cost of a turn. Here the validator is built once at start-up — the same
schema and the same errors, so a malformed reply is still rejected exactly as before.

2. The predict graph (NLU pipeline, policies) runs on ``SequentialGraphRunner``
(bot/runtime/graph_runner.py) instead of dask's scheduler: the same nodes, each after the
nodes it needs, in an order planned once instead of for every message.

3. Nothing a client sends stops the process, and faults reach the user as the apology:

* the ``rest`` channel of any credentials file is ``bot.channels.rest.CheckedRestInput``
  (inputs checked before Rasa sees them, loopback-or-token; the widget has its own
  signed-session channel, ``bot.channels.webwidget``), and a request middleware caps
  the body of every ``/webhooks/`` route at 64 KB — the one check that does not depend
  on a channel's format (WeChat's XML included), refused from ``Content-Length`` before
  a handler runs;
* a custom action that cannot be reached or fails gives the apology with the 12345
  hotline (``bot.chat.apology``) instead of nothing (stock logged the error and the
  user got ``[]``); once per turn, however many actions fail.

4. A session also ends after ``$MAX_SESSION_TURNS`` user messages (default 30), its slots
carried over, so a months-long WeChat conversation does not make every turn slower
(bot/runtime/session_length.py).

5. Operating defaults: Rasa binds to ``$RASA_HOST`` (default 127.0.0.1, stock 0.0.0.0)
and takes its API token from ``$RASA_TOKEN`` when none is on the command line, so the
token never appears in ``ps``; the action server binds to ``$ACTION_HOST`` (default
127.0.0.1) and runs actions only for loopback callers, or — when
``$ACTION_SERVER_SECRET`` is set — only for calls carrying it in ``X-Action-Secret``
(Rasa adds the header; set it when the action server runs on another host, or when
other local users should not reach it — loopback is shared by every local user). Log records have ID-card and phone numbers masked
(``bot.logmask``).

`make run`, the end-to-end tests and the benchmark all start Rasa through this module,
so what is measured is what runs. Any other `rasa` command line works unchanged
(``python -m bot.runtime.launch shell``).
"""
from __future__ import annotations

import hmac
import logging
import os
import sys
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

ACTION_SECRET_ENV = "ACTION_SERVER_SECRET"
ACTION_SECRET_HEADER = "X-Action-Secret"


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
    from bot.runtime.graph_runner import SequentialGraphRunner

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner


def patch_channels() -> None:
    """``rest:`` in a credentials file opens the checked REST channel."""
    from rasa.core.channels import BUILTIN_CHANNELS

    from bot.channels.rest import CheckedRestInput

    BUILTIN_CHANNELS["rest"] = CheckedRestInput


def install_webhook_limits(app: Any) -> None:
    """Refuse a ``/webhooks/`` body over 64 KB with 413 (every channel)."""
    from sanic import response

    from bot.channels import checks

    @app.middleware("request")
    async def webhook_body_limit(request: Any) -> Any:
        if not request.path.startswith("/webhooks/"):
            return None
        size = request.headers.get("content-length", "")
        if (size.isdigit() and int(size) > checks.MAX_BODY_BYTES) or len(request.body or b"") > checks.MAX_BODY_BYTES:
            refused = checks.Refused(413, "body_too_large", checks.BODY_TOO_LARGE_TEXT)
            return response.json(refused.body(), status=413)
        return None


def patch_app_configuration() -> None:
    import rasa.core.run

    if getattr(rasa.core.run.configure_app, "webhook_limits", False):
        return
    original = rasa.core.run.configure_app

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        install_webhook_limits(app)
        return app

    configure_app.webhook_limits = True  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app


def patch_action_failures() -> None:
    """A failing custom action utters the apology (and sends the action server's secret)."""
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
    from rasa.shared.core.events import BotUttered, UserUttered

    if getattr(RemoteAction.run, "apologises", False):
        return
    original = RemoteAction.run

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        secret = os.environ.get(ACTION_SECRET_ENV)
        if secret and self.action_endpoint is not None:
            self.action_endpoint.headers[ACTION_SECRET_HEADER] = secret
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:  # a form's validation refusing: Rasa's normal flow
            raise
        except Exception as exc:  # noqa: BLE001
            from bot.channels.rest import fault
            from bot.chat import apology

            logger.error("custom action %s failed (%s); the user gets the apology", self.name(), fault(exc))
            for event in reversed(tracker.events):
                if isinstance(event, UserUttered):
                    break
                if isinstance(event, BotUttered) and event.metadata.get("apology"):
                    return []  # said already in this turn
            try:
                region = tracker.get_slot("district")
            except Exception:  # noqa: BLE001 — a domain without the slot
                region = None
            try:
                text = apology(region if isinstance(region, str) else None)
            except Exception:  # noqa: BLE001 — the lexicon unreadable: the generic hotline
                text = apology()
            utterance = create_bot_utterance({"text": text})
            utterance.metadata = {"apology": True}
            return [utterance]

    run.apologises = True  # type: ignore[attr-defined]
    RemoteAction.run = run


def install_action_guard(app: Any, secret: Optional[str]) -> None:
    """The action server runs actions only for Rasa: the shared secret when configured,
    else loopback callers (``/health`` stays open for start-up checks)."""
    from sanic import response

    from bot.channels.checks import is_loopback_peer

    @app.middleware("request")
    async def only_rasa(request: Any) -> Any:
        if request.path == "/health":
            return None
        if secret:
            given = request.headers.get(ACTION_SECRET_HEADER.lower()) or ""
            if hmac.compare_digest(given.encode(), secret.encode()):
                return None
        elif is_loopback_peer(request.ip, request.headers):
            return None
        return response.json({"error": "forbidden"}, status=403)


def patch_action_server() -> None:
    import rasa_sdk.endpoint

    if getattr(rasa_sdk.endpoint.create_app, "guarded", False):
        return
    original = rasa_sdk.endpoint.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        install_action_guard(app, os.environ.get(ACTION_SECRET_ENV) or None)
        return app

    create_app.guarded = True  # type: ignore[attr-defined]
    rasa_sdk.endpoint.create_app = create_app


def patch_runtime() -> None:
    """Every fix above; what `make run`, the tests and the benchmark start Rasa with."""
    from bot import logmask

    logmask.install()
    patch_action_result_validation()
    patch_graph_runner()
    patch_channels()
    patch_app_configuration()
    patch_action_failures()
    patch_action_server()
    from bot.runtime.session_length import patch_session_length
    patch_session_length()


def _has(argv: List[str], *flags: str) -> bool:
    return any(a in flags or any(a.startswith(f + "=") for f in flags if f.startswith("--")) for a in argv)


def server_defaults(argv: List[str], env: Dict[str, str]) -> List[str]:
    """The command line with the operating defaults added (in this process only: what
    ``ps`` shows is what the caller typed)."""
    argv = list(argv)
    if argv[:2] == ["run", "actions"]:
        env.setdefault("SANIC_HOST", env.get("ACTION_HOST") or "127.0.0.1")  # read by rasa_sdk
    elif argv[:1] == ["run"]:
        if not _has(argv, "-i", "--interface"):
            argv += ["--interface", env.get("RASA_HOST") or "127.0.0.1"]
        if not _has(argv, "--auth-token", "-t") and env.get("RASA_TOKEN"):
            argv += ["--auth-token", env["RASA_TOKEN"]]
    return argv


def main(argv: Optional[List[str]] = None) -> None:
    patch_runtime()
    from rasa.__main__ import main as rasa_main

    args = server_defaults(list(sys.argv[1:] if argv is None else argv), os.environ)  # type: ignore[arg-type]
    sys.argv = ["rasa"] + args
    rasa_main()


if __name__ == "__main__":
    main()
