"""Atomic outputs: every file of a run is written under a staging folder inside the output
directory, then renamed into place only when all of them were written. A failing or killed run
leaves the previous outputs as they were.

Renaming several files is not one atomic step, so the renames are journaled: a run killed in
the middle of them leaves a journal, and the next run into the directory finishes them (rolls
forward) before doing anything else. The directory then holds the complete new set."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError

STAGING_PREFIX = ".dqs-staging-"
SPILL_PREFIX = ".dqs-spill-"
JOURNAL_PREFIX = ".dqs-commit-"


def prepare_output_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise InputError(f"output directory {path} is a file", hint="pass a directory path") from exc
    except OSError as exc:
        raise InputError(
            f"cannot create output directory {path}: {exc.strerror}",
            hint="choose a directory you can write to",
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(
            f"output directory {path} is not writable", hint="choose a directory you can write to"
        )
    return path


class OutputSet:
    """Files staged for one run; `commit` renames them all into the output directory."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self.staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=output_dir))
        self.names: list[str] = []

    def path(self, name: str) -> Path:
        """Staging path for output `name`; registering it means it will be committed."""
        if name not in self.names:
            self.names.append(name)
        return self.staging / name

    def commit(self) -> list[Path]:
        for name in self.names:
            if not (self.staging / name).is_file():
                raise FileNotFoundError(f"output {name} was not written")
        for name in self.names:
            with open(self.staging / name, "rb") as fh:
                os.fsync(fh.fileno())
        journal = self.output_dir / f"{JOURNAL_PREFIX}{os.getpid()}.json"
        _write_synced(journal, json.dumps({"staging": self.staging.name, "names": self.names}))
        _sync_dir(self.output_dir)
        final = _roll_forward(self.output_dir, self.staging.name, self.names)
        journal.unlink()
        _sync_dir(self.output_dir)
        self.discard()
        return final

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


@contextmanager
def exclusive(output_dir: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the output directory (flock on the directory itself, so no
    lock file is left behind). A second run into the same directory waits for the first, so
    the directory always holds one complete set of outputs."""
    fd = os.open(output_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def spill_directory(output_dir: Path) -> Path:
    """A fresh folder for DuckDB to spill to; the caller removes it."""
    return Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-", dir=output_dir))


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _roll_forward(output_dir: Path, staging: str, names: list[str]) -> list[Path]:
    """Rename the staged files into place; files already moved (by a killed run) are skipped."""
    final = []
    for name in names:
        source = output_dir / staging / name
        if source.exists():
            os.replace(source, output_dir / name)
        final.append(output_dir / name)
    return final


def finish_interrupted_commits(output_dir: Path) -> list[str]:
    """Complete the renames of a run killed while committing; returns what it finished.
    Called with the directory lock held, so no live run is committing."""
    finished = []
    for journal in sorted(output_dir.glob(f"{JOURNAL_PREFIX}*.json")):
        try:
            entry = json.loads(journal.read_text(encoding="utf-8"))
            staging, names = str(entry["staging"]), [str(n) for n in entry["names"]]
        except (OSError, ValueError, KeyError, TypeError):
            journal.unlink(missing_ok=True)  # torn before it was synced: no rename had started
            continue
        if "/" in staging or not staging.startswith(STAGING_PREFIX) or any("/" in n for n in names):
            journal.unlink(missing_ok=True)
            continue
        _roll_forward(output_dir, staging, names)
        _sync_dir(output_dir)
        journal.unlink()
        finished.extend(names)
    return finished


def remove_stale(output_dir: Path) -> None:
    """Finish a commit a killed run left half done, then remove staging and spill folders left
    by killed runs (not by one still running)."""
    finish_interrupted_commits(output_dir)
    for entry in output_dir.glob(".dqs-*-*"):
        if not entry.is_dir() or not entry.name.startswith((STAGING_PREFIX, SPILL_PREFIX)):
            continue
        pid_part = entry.name.rsplit("-", 1)[0].rsplit("-", 1)[-1]
        if pid_part.isdigit() and _alive(int(pid_part)):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
