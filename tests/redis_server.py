"""A redis-server of a test's own on a free port, which the test may stop (SIGSTOP) or kill."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def own_redis(folder: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Starts redis-server and yields its port and process; kills it on the way out, even stopped."""
    executable = shutil.which("redis-server")
    assert executable, "redis-server is installed on this kind of machine"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [executable, *arguments, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ping = ["redis-cli", "-p", str(port), "ping"]
        deadline = time.monotonic() + 10
        while subprocess.run(ping, capture_output=True, check=False).stdout != b"PONG\n":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)  # polling interval, bounded by the deadline
        yield port, process
    finally:
        process.kill()  # SIGKILL ends a stopped process too
        process.wait()
