"""Provenance of results: package version, git revision, platform, device, time."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess

__all__ = ["provenance", "package_version", "git_revision"]


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("lowdim-diffusion")
    except Exception:  # noqa: BLE001 - not installed (running from a checkout)
        from lowdim.theory import __version__

        return __version__


def git_revision() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def provenance(**extra) -> dict:
    info = {
        "package": "lowdim-diffusion",
        "version": package_version(),
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        import numpy
        import scipy

        info["numpy"] = numpy.__version__
        info["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover
        pass
    info.update(extra)
    return info
