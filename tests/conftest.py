"""Shared fixtures: one measures database built from the real seeds per test run.

Set TEST_DATABASE_URL (scripts/test.sh --postgres does) to run the same tests
on PostgreSQL; the default is a temporary SQLite file.
"""
from __future__ import annotations

import datetime as dt
import os

import pytest

from bot import db
from bot.build import build

AS_OF = dt.date(2026, 11, 25)


@pytest.fixture(scope="session")
def db_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'measures.db'}"
    build(url)
    return url


@pytest.fixture()
def session(db_url):
    with db.session_factory(db_url)() as s:
        yield s


@pytest.fixture(scope="session")
def assistant(tmp_path_factory, db_url):
    """The trained model served by a real action server and Rasa server (REST channel, CORS open)."""
    from tests.servers import MODEL, Assistant
    if not MODEL.exists():
        pytest.skip("no trained model (run scripts/test.sh)")
    a = Assistant(tmp_path_factory.mktemp("e2e"), db_url)
    yield a
    a.stop()


@pytest.fixture(scope="session")
def trained_processor():
    """Rasa's MessageProcessor for the trained model, loaded once (TensorFlow makes a load
    cost ~20 s) for the tests that compare our components with Rasa's on real features."""
    from rasa.core.agent import Agent

    from tests.servers import MODEL
    if not MODEL.exists():
        pytest.skip("no trained model (run scripts/test.sh)")
    return Agent.load(str(MODEL)).processor
