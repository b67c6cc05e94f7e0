"""Disk bounds shared by both sandboxes: how much their work may add to the disk.

Each file is already capped by RLIMIT_FSIZE (``DEFAULT_MAX_FILE_SIZE``, set by the
launcher of every program); ``GrowthGuard`` bounds the sum: how much the workspace and the
sandbox's private folder grew since the sandbox started. Measuring walks the folders, so
it runs only when the file systems holding them grew by more than the limit (an O(1)
``statvfs``): below that, the folders cannot have.
"""

from __future__ import annotations

import os
import stat as stat_mod

DEFAULT_MAX_FILE_SIZE = 1024**3
"""Largest file (bytes) a sandbox program may write (RLIMIT_FSIZE); 0 for no limit."""

DEFAULT_MAX_WORKSPACE_GROWTH = 4 * 1024**3
"""How much (bytes) the workspace and scratch folders may grow; None for no limit."""


def folder_usage(top: str) -> int:
    """Bytes of disk the files below ``top`` occupy (symlinks not followed)."""
    total = 0
    stack = [top]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += st.st_blocks * 512
                if stat_mod.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
    return total


def _fs_used(folder: str) -> int:
    try:
        st = os.statvfs(folder)
    except OSError:
        return 0
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MiB"


class GrowthGuard:
    """Tells when ``folders`` together grew by more than ``limit`` bytes since it was made."""

    def __init__(self, folders: list[str], limit: int) -> None:
        self.folders = folders
        self.limit = limit
        self._devices: dict[int, str] = {}
        for folder in folders:
            self._devices.setdefault(os.stat(folder).st_dev, folder)
        self._fs_base = self._fs_total()
        self._base = self.usage()

    def usage(self) -> int:
        return sum(folder_usage(f) for f in self.folders)

    def _fs_total(self) -> int:
        return sum(_fs_used(f) for f in self._devices.values())

    def check(self, adding: int = 0) -> str | None:
        """A message when the growth plus ``adding`` bytes about to be written is over the
        limit, else None."""
        if self._fs_total() - self._fs_base + adding <= self.limit:
            return None  # the file systems grew by less: so did the folders
        grown = self.usage() - self._base + adding
        return self._message(grown) if grown > self.limit else None

    def _message(self, grown: int) -> str:
        return (
            f"the workspace and the sandbox's scratch folders grew by {_mib(grown)} since the "
            f"sandbox started, over the limit of {_mib(self.limit)} (max_workspace_growth): "
            "delete files you do not need before writing more"
        )
