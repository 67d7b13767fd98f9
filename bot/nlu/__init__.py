"""Rasa NLU components of 政策助手 (the only part of bot/ besides channels that knows Rasa)."""
