"""Atomic output: everything cppnart writes goes to a temporary name beside the target and is
renamed into place only when complete, so Ctrl-C or an error never leaves a truncated file.

    with atomic_output("poster.png") as tmp:
        write_everything_to(tmp)          # poster.png appears only if this returns
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import UserError


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise UserError(f"output folder '{folder}' does not exist; create it first or choose another output path")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write to folder '{folder}' (permission denied); choose another output path")


def check_writable(path: str | Path) -> Path:
    """Fail early, before any work, when ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"output path '{path}' is a folder; give a file name")
    _check_folder(path.parent if str(path.parent) else Path("."))
    return path


def check_new_folder(path: str | Path) -> Path:
    """Fail early when ``path`` cannot become a new folder of outputs (it may exist, empty)."""
    path = Path(path)
    if not path.name or path.name == "..":  # '.', '', '..' and '/' name no folder that could be made
        raise UserError(f"'{path}' names no new folder; give the output a folder name of its own, like 'poster'")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(f"output folder '{path}' already exists and is not empty; choose a new folder name")
    _check_folder(path.parent if str(path.parent) else Path("."))
    return path


TMP_MARK = ".tmp-"  # .NAME.tmp-PID-RANDOM.SUFFIX: hidden, never the output's own name
_TMP_NAME = re.compile(r"^\..+\.tmp-(?:(\d+)-)?[0-9a-f]{8}(?:\.[^.]*)?$")
LEGACY_TMP_AGE = 3600.0  # seconds after which a temp without a PID is taken as abandoned


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or unknowable: leave its file alone
    return True


def clean_stale_temps(folder: str | Path) -> list[Path]:
    """Remove temporary outputs in ``folder`` left by writers that died (SIGKILL, power cut).

    A temp names its writer's PID; it is removed only when that process is gone, so writers
    running beside us keep theirs. Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TMP_NAME.match(entry.name)
        if not match:
            continue
        if match[1] is not None:
            stale = int(match[1]) != os.getpid() and not _alive(int(match[1]))
        else:
            try:
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > LEGACY_TMP_AGE
            except OSError:
                continue
        if stale:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_output(path: str | Path, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it over ``path`` on success.

    With ``folder`` the caller fills a temporary folder that replaces an empty or missing one.
    On any exception, KeyboardInterrupt included, the temporary file (or folder) is removed and
    ``path`` is left as it was.
    """
    path = check_new_folder(path) if folder else check_writable(path)
    clean_stale_temps(path.parent if str(path.parent) else Path("."))
    tmp = path.with_name(f".{path.stem}{TMP_MARK}{os.getpid()}-{os.urandom(4).hex()}{path.suffix}")
    try:
        yield tmp
        if tmp.is_dir() != folder:
            raise RuntimeError(f"atomic_output(folder={folder}) was given a {'folder' if tmp.is_dir() else 'file'}")
        if folder and path.is_dir():
            path.rmdir()  # checked empty beforehand; rename cannot replace a folder on every OS
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
