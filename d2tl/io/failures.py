"""Steps that fail without stopping the others, and the non-zero exit status that follows.

A long command (run-all, a shard, a section) is a list of independent steps: configurations,
sections, the baseline, the interpretation. One failing step must neither stop the rest (hours of
other work would be lost) nor be hidden (a cluster job would look green). So each step runs under
:meth:`Failures.step`: an exception is logged with its traceback and recorded, the next step
runs, and when all are done :meth:`Failures.check` raises :class:`StepsFailed`, naming each
failed step and what was written anyway. The command line prints it and exits with status 1
(:mod:`d2tl.cli`); bad input found before any work stays a :class:`d2tl.io.errors.D2TLError`
(status 2). Ctrl-C is not a step failure: it stops the command at once.
"""

from __future__ import annotations

import contextlib
import traceback


class StepsFailed(Exception):
    """Some steps of a command failed; the others ran. ``failed``: (step, error) pairs;
    ``written``: what the command still wrote."""

    def __init__(self, failed: list[tuple[str, str]], written: list[str]):
        self.failed, self.written = list(failed), list(written)
        names = "; ".join(f"{step} ({error})" for step, error in self.failed)
        wrote = ", ".join(self.written) or "nothing"
        super().__init__(f"{len(self.failed)} step(s) failed: {names}. Written anyway: {wrote}. Rerun the same "
                         "command to resume: finished configurations are read back, not trained again")


class Failures:
    """The failed steps of one command, and what it wrote (:meth:`wrote`)."""

    def __init__(self, log=print):
        self.log = log
        self.failed: list[tuple[str, str]] = []
        self.written: list[str] = []

    @contextlib.contextmanager
    def step(self, name: str):
        """Run the ``with`` body as step ``name``; an exception is logged and recorded, not raised."""
        try:
            yield
        except StepsFailed as exc:  # an inner command's failures: already logged, each named
            self.failed += [(f"{name}: {step}", error) for step, error in exc.failed]
        except Exception as exc:  # noqa: BLE001 - any failure of a step is recorded; the others still run
            traceback.print_exc()
            self.failed.append((name, f"{type(exc).__name__}: {exc}"))
            self.log(f"step failed: {name}: {type(exc).__name__}: {exc} (going on with the next step)")

    def error(self, name: str) -> str | None:
        """The recorded error of step ``name`` (None when it did not fail)."""
        return next((error for step, error in self.failed if step == name or step.startswith(f"{name}: ")), None)

    def wrote(self, what) -> None:
        self.written.append(str(what))

    def check(self) -> None:
        """Raise :class:`StepsFailed` when any step failed."""
        if self.failed:
            raise StepsFailed(self.failed, self.written)
