"""The command-line examples of README.md and docs/*.md, so that tests can run every one of them.

A command is a line of a fenced code block (``bash``, ``sh``, ``shell``,
``console`` or untagged) whose first word is a program users run. Continued
lines (``\\``) are joined; comments, prompts (``$ ``) and output lines are left
out. Each command has a kind, which says where the tests run it:

- ``salt-call``: with ``salt-call --local`` on this machine, against a site made
  by ``maia-configure`` and the Kubernetes API stand-in (tests/docs);
- ``configure``: ``maia-configure``, ``maia roster``, ``maia validate``, ``maia hosts``: on this machine (tests/docs);
- ``lab``: ``salt-run``, ``salt-ssh``, ``salt``, ``maia install``, ``maia preflight``,
  ``maia drift`` and the ``--test`` runs of ``maia reset``/``maia remove-host``: verbatim from the
  folder of the end-to-end lab (tests/e2e/test_orchestration.py);
- ``day2``: the real runs of ``maia reset``, ``maia remove-host`` and their
  orchestrations, which take a site apart, and ``maia backup``/``maia restore``
  (which need a passphrase and an empty folder): tests/docs checks each documented
  option and pillar key against the command and the SLS, and
  tests/e2e/test_day2_*.py (backup and restore: tests/e2e/test_orchestration.py)
  run the same operations on the lab;
- ``lab-cli``: ``maia lab ...``: in tests/lab/test_lab.py, in document order;
- ``standin``: ``python -m maia_lab.standins.*`` servers: every documented
  option is one the program accepts;
- ``pytest``: the test paths exist; ``bench``: the script exists;
- ``setup``: ``make``, ``git clone``, ``. .venv/bin/activate``, ``cd``, ``export``: each
  checked for real by tests/docs (make -q/-n, the venv's commands, a clone, the variables
  maia-configure reads); .ci/run runs make setup, make test and make demo from a bare copy.
A command of no known kind fails the tests: a new example needs a runner.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from support.paths import REPO

FENCE = re.compile(r"^```(\w*)\s*\n(.*?)^```", re.M | re.S)
SHELL_LANGS = {"", "bash", "sh", "shell", "console"}
PROGRAMS = {"salt-call", "salt-run", "salt-ssh", "salt", "maia", "maia-configure",
            "MAIA_Configure_Installation.sh", "make", "git", ".", "cd", "python", ".venv/bin/python", "export"}
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class DocCommand:
    path: str  # relative to the repository
    line: int
    text: str

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text)

    @property
    def program_argv(self) -> list[str]:
        """argv without leading VAR=value assignments."""
        argv = self.argv
        while argv and ENV_ASSIGNMENT.match(argv[0]):
            argv = argv[1:]
        return argv

    @property
    def kind(self) -> str | None:
        argv = self.program_argv
        if not argv:
            return None
        prog = argv[0]
        if "pytest" in argv:
            return "pytest"
        if prog == "salt-call":
            return "salt-call"
        if argv[:2] in (["maia", "backup"], ["maia", "restore"]):
            return "day2"  # tests/e2e/test_orchestration.py backs the lab up and restores it
        destructive = argv[:2] in (["maia", "reset"], ["maia", "remove-host"]) or any(
            a in ("orch.maia_reset", "orch.maia_remove_host") for a in argv)
        if destructive:
            return "lab" if ("--test" in argv or "test=True" in argv) else "day2"
        if prog in ("salt-run", "salt-ssh", "salt") or argv[:2] in (["maia", "install"], ["maia", "preflight"],
                                                                        ["maia", "drift"]):
            return "lab"
        if argv[:2] == ["maia", "lab"] or self.text.startswith("cd /var/lib/maia-lab/"):
            return "lab-cli"
        if prog in ("maia-configure", "MAIA_Configure_Installation.sh") or argv[:2] in (["maia", "roster"],
                                                                                        ["maia", "validate"],
                                                                                        ["maia", "hosts"]):
            return "configure"
        if prog.endswith("python") and len(argv) > 2 and argv[1] == "-m" and argv[2].startswith("maia_lab.standins"):
            return "standin"
        if prog.endswith("python") and len(argv) > 1 and argv[1].startswith("bench/"):
            return "bench"
        if prog in ("make", "git", ".", "export", "cd"):
            return "setup"
        return None

    def __str__(self):
        return f"{self.path}:{self.line}: {self.text}"


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a # inside quotes stays)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        words = list(lexer)
    except ValueError:
        return line.strip()
    if not words:
        return ""
    # cut the raw line where the comment starts, keeping the original quoting
    in_single = in_double = False
    for i, ch in enumerate(line):
        if ch == "'" and not in_double:
            in_single = not in_single
        elif ch == '"' and not in_single:
            in_double = not in_double
        elif ch == "#" and not in_single and not in_double and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def documented_commands(repo: Path = REPO) -> list[DocCommand]:
    found = []
    for doc in [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]:
        text = doc.read_text()
        for fence in FENCE.finditer(text):
            if fence.group(1) not in SHELL_LANGS:
                continue
            first_line = text[: fence.start(2)].count("\n") + 1
            pending, start = "", 0
            prompts = ("$ ", "# ") if fence.group(1) == "console" else ("$ ",)  # `# ` is root's prompt there
            for offset, raw in enumerate(fence.group(2).splitlines()):
                line = raw.strip()
                if line.startswith(prompts):
                    line = line[2:]
                if not pending:
                    start = first_line + offset
                    head = line.split(maxsplit=1)[0] if line else ""
                    if head not in PROGRAMS and not ENV_ASSIGNMENT.match(head):
                        continue
                if line.endswith("\\"):
                    pending += line[:-1].rstrip() + " "
                    continue
                command = _strip_comment(pending + line)
                pending = ""
                if command:
                    found.append(DocCommand(str(doc.relative_to(repo)), start, command))
    return found


def by_kind(kind: str, repo: Path = REPO) -> list[DocCommand]:
    return [c for c in documented_commands(repo) if c.kind == kind]


def lab_env(lab) -> dict:
    """The environment of an admin on the lab's master: its Salt tools on PATH, its config dir."""
    import os
    import sys

    return {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
            "SALT_CONFIG_DIR": lab.dir}


def run_verbatim(lab, text: str, ran: dict | None = None, timeout: float = 1800):
    """A ``lab`` command exactly as documented, from the lab's folder; kept in ``ran`` (by its text)
    so that tests/e2e/test_orchestration.py's documented-commands test checks this run instead of
    running the same command again."""
    import subprocess

    proc = subprocess.run(text, shell=True, cwd=lab.dir, env=lab_env(lab), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if ran is not None:
        ran[text] = proc
    return proc


def verbatim_failure(text: str, proc) -> str | None:
    """Why a documented command's run failed (its exit code, a failed state in its summary, or Salt's
    warnings in what a ``maia`` command printed), or None."""
    from support.install_output import NOISE

    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or re.search(r"^\s*Failed:\s+[1-9]", out, re.M):
        return f"rc {proc.returncode}\n{out[-2500:]}"
    if text.startswith("maia") and NOISE.search(out):  # Salt's own tools print their warnings
        return f"Salt's noise in what maia printed\n{out[-2500:]}"
    return None
