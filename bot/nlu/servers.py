"""Starting the Rasa and action servers from scripts: the production endpoints on other
ports and files, a free port, and waiting until a server answers.

Shared by the end-to-end tests and the benchmarks, which both run real servers.
"""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def project_endpoints(action_url: str, tracker_db: Path) -> dict:
    """The production endpoints.yml (tracker store, selective domain …) pointed at this
    action server and tracker database, so tests and benchmarks run what `make run` runs."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = action_url
    endpoints["tracker_store"]["db"] = str(tracker_db)
    return endpoints


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 300) -> None:
    """Return once ``url`` answers; fail early if the server process has exited."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early ({proc.returncode}): {url}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise TimeoutError(url)
