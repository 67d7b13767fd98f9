"""The embeddable web chat widget (static files, served by the assist app under /widget/).

Why our own: the well-known Rasa widgets are unmaintained; this one is one
script tag, talks to Rasa's REST channel, keeps the conversation across page
reloads (localStorage) and says clearly when the server cannot be reached.
"""
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
