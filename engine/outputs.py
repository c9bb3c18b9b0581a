"""Atomic outputs: every file of a run is written under a staging folder inside the output
directory, then renamed into place only when all of them were written. A failing or killed run
leaves the previous outputs as they were."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

STAGING_PREFIX = ".dqs-staging-"
SPILL_PREFIX = ".dqs-spill-"


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
        final = []
        for name in self.names:
            target = self.output_dir / name
            os.replace(self.staging / name, target)
            final.append(target)
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


def remove_stale(output_dir: Path) -> None:
    """Remove staging and spill folders left by a killed run (not by one still running)."""
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
