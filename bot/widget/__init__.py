"""The embeddable web chat widget (static files, served by the assist app under /widget/).

Why our own: the well-known Rasa widgets are unmaintained; this one is one
script tag, talks to the widget channel (``bot.channels.webwidget``: the server
issues a signed session id, so a visitor cannot speak as anyone else), keeps the
session and the conversation across page reloads (localStorage), says clearly when
the server cannot be reached, and shows a refusal's reason (e.g. a message over
2000 characters) instead of retrying it.
"""
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
