"""The guards in front of Rasa, without servers: checks, sessions, the tracker store's
errors, the apology on a fault, masked logs, the launcher's operating defaults."""
from __future__ import annotations

import asyncio
import logging
import os
import stat

import pytest

from bot.channels import checks


def test_lone_surrogates_and_encoded_surrogates_are_refused():
    for raw in (b'{"sender": "\\udc80", "message": "hi"}', b'{"sender": "u", "message": "\\ud800"}'):
        body = checks.json_object(raw)
        with pytest.raises(checks.Refused) as err:
            checks.sender(body), checks.message(body)
        assert err.value.status == 400 and err.value.code == "unpaired_surrogate"
    with pytest.raises(checks.Refused) as err:
        checks.json_object(b'{"sender": "\xed\xa0\x80", "message": "hi"}')  # json.loads(bytes) would let it through
    assert err.value.code == "not_utf8"
    assert checks.message(checks.json_object('{"message": "\\ud83d\\ude00"}'.encode())) == "😀"  # a proper pair


def test_shapes_lengths_and_types():
    for raw, code in ((b"[1, 2]", "not_json_object"), (b"null", "not_json_object"), (b"{", "not_json"),
                      (b"[" * 50000, "not_json")):
        with pytest.raises(checks.Refused) as err:
            checks.json_object(raw)
        assert err.value.code == code
    with pytest.raises(checks.Refused) as err:
        checks.json_object(b" " * (checks.MAX_BODY_BYTES + 1))
    assert err.value.status == 413
    with pytest.raises(checks.Refused) as err:
        checks.json_object(b"{}", content_length=str(10 * 1024 * 1024))
    assert err.value.status == 413
    for body, fn, code in (({"message": 5}, checks.message, "bad_message"), ({}, checks.message, "bad_message"),
                           ({"sender": 5}, checks.sender, "bad_sender"), ({}, checks.sender, "no_sender"),
                           ({"sender": "a\nb"}, checks.sender, "bad_sender"),
                           ({"message": "增" * 2001}, checks.message, "message_too_long")):
        with pytest.raises(checks.Refused) as err:
            fn(body)
        assert err.value.code == code
    assert checks.message({"message": "增" * 2000}) == "增" * 2000
    assert checks.message({"message": "a\x00b"}) == "ab"


def test_loopback_unless_a_proxy_forwarded_it():
    assert checks.is_loopback_peer("127.0.0.1", {}) and checks.is_loopback_peer("::1", {})
    assert not checks.is_loopback_peer("10.0.0.5", {})
    assert not checks.is_loopback_peer("127.0.0.1", {"x-forwarded-for": "203.0.113.9"})
    assert not checks.is_loopback_peer(None, {})


def test_widget_sessions_are_signed_and_other_ids_refused():
    from bot.channels.webwidget import Sessions
    s = Sessions("secret-a")
    session = s.issue()
    conv = s.conversation(session)
    assert conv and conv.startswith("widget:") and conv != s.conversation(s.issue())
    assert Sessions("secret-a").conversation(session) == conv  # same key after a restart
    assert Sessions("secret-b").conversation(session) is None
    head, rand, mac = session.split(".")
    flip = {"A": "B"}
    for forged in (f"{head}.{rand[:-1]}{flip.get(rand[-1], 'A')}.{mac}", f"{head}.{rand}.{mac[:-1]}{flip.get(mac[-1], 'A')}", "oGZUI0egBJY1zhBYw2KhdUfwVJJE",
                   "web-0123456789abcdef01234567", conv, "w1..", "w1.é.é"):
        assert s.conversation(forged) is None, forged


@pytest.fixture()
def domain():
    from rasa.shared.core.domain import Domain
    return Domain.from_yaml("version: '3.1'\nintents: [greet]\n")


def test_tracker_store_error_is_an_error_not_an_exit(tmp_path, domain):
    """Stock SQLTrackerStore called sys.exit on a sender id with a lone surrogate."""
    from rasa.shared.core.events import SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.runtime.tracker_store import CachedSQLTrackerStore, GuardedSQLTrackerStore, TrackerStoreError
    for cls in (CachedSQLTrackerStore, GuardedSQLTrackerStore):
        db = tmp_path / f"{cls.__name__}.db"
        store = cls(domain=domain, dialect="sqlite", db=str(db))
        assert stat.S_IMODE(os.stat(db).st_mode) == 0o600, "conversations are readable by the owner only"
        bad = DialogueStateTracker.from_events("\udc80", [SessionStarted(), UserUttered("hi")])
        with pytest.raises(TrackerStoreError):
            asyncio.run(store.save(bad))
        with pytest.raises(TrackerStoreError):
            asyncio.run(store.retrieve("\udc80"))
        good = DialogueStateTracker.from_events("ok", [SessionStarted(), UserUttered("你好")])
        asyncio.run(store.save(good))
        assert asyncio.run(store.retrieve("ok")).latest_message.text == "你好"


def test_a_fault_while_handling_becomes_the_apology_on_that_conversation():
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    from bot.channels.rest import answer_or_apologise
    from bot.runtime.tracker_store import TrackerStoreError
    from bot.chat import apology

    async def failing(message):
        raise TrackerStoreError("disk full")

    collector = CollectingOutputChannel()
    asyncio.run(answer_or_apologise(failing, UserMessage("你好", collector, "u1", input_channel="rest")))
    assert [m["text"] for m in collector.messages] == [apology()]
    assert "12345" in collector.messages[0]["text"]


def test_logs_mask_id_card_and_phone_numbers(caplog):
    from bot import logmask
    logmask.install()
    logmask.install()  # once is enough, twice is harmless
    log = logging.getLogger("test.mask")
    with caplog.at_level(logging.INFO):
        log.info("user said %r", "我的电话13812345678，身份证440101199001011234，订单20240101123456789012")
        try:
            raise ValueError("bad value 138 1234 5678")
        except ValueError:
            log.exception("failed")
    text = caplog.text
    assert "13812345678" not in text and "440101199001011234" not in text and "138 1234 5678" not in text
    assert "138****5678" in text and "**************1234" in text and "20240101123456789012" in text


def test_launcher_defaults_keep_secrets_off_the_command_line_and_bind_loopback():
    from bot.runtime.launch import server_defaults
    env = {"RASA_TOKEN": "t0ken"}
    argv = server_defaults(["run", "-m", "m.tar.gz", "--enable-api"], env)
    assert argv[argv.index("--interface") + 1] == "127.0.0.1" and argv[argv.index("--auth-token") + 1] == "t0ken"
    assert "--interface" not in server_defaults(["run", "-i", "0.0.0.0"], {})[2:]
    env = {"RASA_HOST": "0.0.0.0"}
    assert server_defaults(["run"], env)[-1] == "0.0.0.0"
    env = {}
    assert server_defaults(["run", "actions"], env) == ["run", "actions"] and env["SANIC_HOST"] == "127.0.0.1"
    assert server_defaults(["shell"], {"RASA_TOKEN": "x"}) == ["shell"]
