"""`python -m fortnox_emulator` as a person runs it: a real process on a real port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.fortnox_emulator.conftest import AUTH_QUERY, REPO_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _emulator_process(*args: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "fortnox_emulator", "--port", str(port), *args],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(url + "/", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        process.stdout.close()


def test_the_command_serves_the_consent_page_and_keeps_control_off(tmp_path: Path):
    with _emulator_process("--state-file", str(tmp_path / "state.json")) as url:
        landing = requests.get(url + "/", timeout=5)
        consent = requests.get(url + "/oauth-v1/auth", params=AUTH_QUERY, timeout=5)
        control = requests.get(url + "/_emulator/", timeout=5)

    assert "Restaurang Smakfullt AB" in landing.text
    assert consent.status_code == 200 and "Godkänn" in consent.text
    assert control.status_code == 404
    assert (tmp_path / "state.json").exists()


def test_the_command_takes_auto_approve_control_and_client_options():
    with _emulator_process("--auto-approve", "--control", "--control-token", "t0ken", "--client-id", "bo",
                           "--client-secret", "s") as url:
        redirect = requests.get(url + "/oauth-v1/auth", params={**AUTH_QUERY, "client_id": "bo"},
                                allow_redirects=False, timeout=5)
        info = requests.get(url + "/_emulator/", headers={"X-Emulator-Token": "t0ken"}, timeout=5).json()
        without = requests.get(url + "/_emulator/", timeout=5)

    assert redirect.status_code == 302 and "code=" in redirect.headers["Location"]
    assert info["client_id"] == "bo"
    assert without.status_code == 401
