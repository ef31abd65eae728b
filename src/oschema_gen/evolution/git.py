"""Reading the schema directory as it was at a git revision, for `oschema-gen diff --against REF`.

The files are copied out with `git show REF:path` into a temporary directory named like
the schema directory (the directory name is the domain name), so the old version goes
through exactly the loader and checks the new one does. Locations are then reported as
`REF:path/file.oschema:line:col`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


class GitError(Exception):
    """git is missing, the directory is not in a repository, or the revision is unknown."""


class MissingRevision(GitError):
    """The revision does not exist (a repository without commits, a shallow clone, a typo)."""


@dataclass(frozen=True)
class OldSchema:
    revision: str
    repo_path: str  # the schema directory relative to the repository root, with '/'
    files: dict[str, bytes]  # file name -> content; empty when the directory did not exist then

    def label(self, name: str | None = None) -> str:
        path = self.repo_path if name is None else f"{self.repo_path}/{name}"
        return f"{self.revision}:{path}"

    def write(self, parent: Path, name: str) -> Path:
        """The files under `parent/name` (`name`: the domain's directory name); returns that directory."""
        directory = parent / name
        directory.mkdir(parents=True)
        for name, content in self.files.items():
            (directory / name).write_bytes(content)
        return directory


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise GitError("git is not installed (needed by --against)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took longer than 60 s") from None


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no message"


def read_old_schema(directory: Path, revision: str) -> OldSchema:
    """The `.oschema` files of `directory` at `revision`."""
    if not directory.is_dir():
        raise GitError(f"schema directory '{directory}' does not exist")
    top = _git(directory, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise GitError(f"'{directory}' is not inside a git repository: {_first_line(top.stderr)}")
    root = Path(top.stdout.decode().strip())
    try:
        relative = directory.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise GitError(f"'{directory}' is not inside the repository at {root}") from None
    if revision.startswith("-"):
        raise GitError(f"git revision must not start with '-': {revision!r}")
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if commit.returncode != 0:
        raise MissingRevision(f"git revision '{revision}' does not exist in {root}")
    listing = _git(root, "ls-tree", "-z", "--name-only", f"{revision}:{relative}" if relative != "." else revision)
    if listing.returncode != 0:
        # The directory did not exist at that revision: the whole schema is new.
        return OldSchema(revision, relative, {})
    names = [n for n in listing.stdout.decode("utf-8", "replace").split("\0") if n.endswith(".oschema")]
    files: dict[str, bytes] = {}
    for name in names:
        spec = f"{revision}:{relative}/{name}" if relative != "." else f"{revision}:{name}"
        shown = _git(root, "cat-file", "blob", spec)
        if shown.returncode == 0:  # not a blob (a directory named *.oschema): not a schema file
            files[name] = shown.stdout
    return OldSchema(revision, relative, files)
