"""A JupyterHub process for the end-to-end tests: ports, start-up wait, stop, leftovers."""


from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHP = REPO / ".hub-tools" / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "e2e-password"
STUDENTS = ("student1", "student2", "student3")


def proxy_command() -> str | None:
    if CHP.exists():
        return str(CHP)
    return shutil.which("configurable-http-proxy")


def free_port_block(n: int = 3) -> int:
    """A port p such that p..p+n-1 are free on 127.0.0.1 (the hub, its API, the proxy's API)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of ports on 127.0.0.1")


@dataclass
class RunningHub:
    proc: subprocess.Popen
    base_url: str
    port: int
    course: object
    state: Path
    log_path: Path
    start_s: float
    seen: list = None  #: processes seen under the hub (killed at teardown if still alive)

    def home(self, user: str) -> Path:
        return self.state / "home" / user

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def processes(self) -> list:
        """The hub and every process under it (proxy, service, user servers, kernels), as psutil sees them."""
        import psutil

        try:
            hub = psutil.Process(self.proc.pid)
            return [hub, *hub.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout_s: float = 60.0) -> float:
        """SIGTERM, as an operator would; returns the seconds the hub took to exit."""
        if self.proc.poll() is not None:
            return 0.0
        start = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pass
        return time.perf_counter() - start


def _kill_left(proc: subprocess.Popen, seen: list) -> None:
    """Whatever is left of the hub's processes (its group, and servers in their own sessions)."""
    import psutil

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for p in seen:
        try:
            p.kill()  # psutil checks the process is the same one (pid and start time)
        except psutil.NoSuchProcess:
            pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the hub exited with {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{url}/hub/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the hub did not answer /hub/health")
