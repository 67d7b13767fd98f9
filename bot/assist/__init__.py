"""The 12345 hotline agents' assist console: ``python -m bot.assist`` (see ``bot/assist/app.py``).

Serves on $ASSIST_HOST:$ASSIST_PORT (default 127.0.0.1:8081). The API token comes from
$ASSIST_TOKEN; without it a random token is generated and printed at start.
Text from the caller is capped at 2000 characters: longer text is rejected
with 413 rather than silently truncated.
"""
