"""A per-configuration lock that names its holder and is renewed while it trains (a lease).

Two processes training the same configuration into one results store (one host, or the nodes
of a cluster sharing a filesystem) must not both train it. File locks (``flock``) are
unreliable on network filesystems and a process id means nothing on another node, so the lock
is a small JSON file beside the configuration folder, ``OUT/.<hash>.lock``, holding the holder's
host, process id, start time and last renewal. It is created with ``os.link`` of a finished
temporary file (atomic, on NFS too), renewed every ``lease / 4`` seconds by a daemon thread,
and removed on release.

A second process waits, saying once who holds the lock, and goes on when it is released (the
caller then finds the finished result). A lock is taken over, saying so, when its lease has
expired (the holder stopped renewing: killed, or its node died) or, on the same host, when its
process no longer exists (a job killed and requeued resumes at once).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

DEFAULT_LEASE = 600.0  # seconds without renewal after which a lock is taken over
POLL = 0.5  # seconds between looks at a held lock


def _now() -> float:
    return time.time()


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _read(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # being written or damaged: treated as held, expires by its modification time
    return holder if isinstance(holder, dict) else {}


def describe(holder: dict) -> str:
    if not holder:
        return "an unreadable lock"
    return (f"host {holder.get('host')} pid {holder.get('pid')}, started {_stamp(holder.get('started', 0))}, "
            f"lease renewed {_stamp(holder.get('renewed', 0))}")


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError, OverflowError):
        return True
    return True


class Lease:
    """The lock at ``path``, held by this process between :meth:`acquire` and :meth:`release`."""

    def __init__(self, path, lease: float = DEFAULT_LEASE, log=print):
        self.path, self.lease, self.log = Path(path), float(lease), log
        self.me = {"host": socket.gethostname(), "pid": os.getpid(), "started": _now(), "token": uuid.uuid4().hex}
        self._stop = threading.Event()
        self._thread = None

    def _write_tmp(self) -> Path:
        tmp = self.path.with_name(f"{self.path.name}.{self.me['token']}.tmp")
        tmp.write_text(json.dumps({**self.me, "renewed": _now(), "lease": self.lease}))
        return tmp

    def _expired(self, holder: dict) -> str | None:
        """Why ``holder``'s lock may be taken over, or None."""
        try:
            renewed = holder.get("renewed") or self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        if _now() - renewed > holder.get("lease", self.lease):
            return f"its lease expired {_now() - renewed:.0f} s after the last renewal"
        if holder.get("host") == self.me["host"] and "pid" in holder and not _alive(holder["pid"]):
            return "its process no longer exists"
        return None

    def acquire(self) -> None:
        """Take the lock, waiting while another live holder renews it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        said = None
        while True:
            tmp = self._write_tmp()
            try:
                os.link(tmp, self.path)
                tmp.unlink()
                break
            except FileExistsError:
                pass
            holder = _read(self.path)
            if holder is None:
                tmp.unlink()
                continue
            why = self._expired(holder)
            if why is not None:
                os.replace(tmp, self.path)  # two takers: the later rename wins, the check below decides
                time.sleep(POLL)
                if (_read(self.path) or {}).get("token") == self.me["token"]:
                    self.log(f"took over the lock {self.path} from {describe(holder)}: {why}")
                    break
                continue
            tmp.unlink()
            if said != holder.get("token"):
                self.log(f"waiting: {self.path} is held by {describe(holder)}")
                said = holder.get("token")
            time.sleep(POLL)
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 4):
            holder = _read(self.path)
            if not holder or holder.get("token") != self.me["token"]:
                self.log(f"WARNING: lost the lock {self.path} to {describe(holder or {})}")
                return
            os.replace(self._write_tmp(), self.path)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if (_read(self.path) or {}).get("token") == self.me["token"]:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


@contextlib.contextmanager
def held(path, lease: float = DEFAULT_LEASE, log=print):
    """Hold the lock at ``path`` for the block."""
    lock = Lease(path, lease, log)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
