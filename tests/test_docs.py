"""Run the examples of the tutorial pages in ``docs/`` so that they cannot go stale.

Every ```` ```python ```` block of a page is executed, in the order of the
page, in one namespace shared by the page's blocks; each page runs in its own
interpreter (as a reader's script would), inside a fresh temporary working
directory and with matplotlib's non-interactive Agg backend. A block
whose fence reads ```` ```python skip ```` is shown to readers but not run;
``bash``, ``text`` and other fences are never run.

To refresh the outputs printed in a page, run this file on it::

    .venv/bin/python tests/test_docs.py docs/fitting.md

which executes the page's blocks as the test does (a fresh interpreter, a
temporary folder) and prints what each block wrote to stdout.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
INDEX = DOCS / "index.md"
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<ticks>`{3,}|~{3,})(?P<info>[^`]*)$")
LINK = re.compile(r"\]\((?P<target>[^)#\s]+\.md)(?:#[^)]*)?\)")


@dataclass
class Block:
    """One fenced code block of a page."""

    page: Path
    number: int  # 1-based among the page's python blocks
    line: int  # 1-based line of the first code line in the page
    code: str
    skip: bool


def fenced_blocks(text: str):
    """Yield ``(info words, first code line (1-based), code)`` for each fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        ticks, info = opening["ticks"], opening["info"].strip().split()
        body, j = [], i + 1
        while j < len(lines):
            closing = FENCE.match(lines[j])
            if closing and closing["ticks"][0] == ticks[0] and len(closing["ticks"]) >= len(
                ticks
            ) and not closing["info"].strip():
                break
            body.append(lines[j])
            j += 1
        else:
            raise ValueError(f"unclosed code fence opened on line {i + 1}")
        yield info, i + 2, "\n".join(body) + "\n"
        i = j + 1


def python_blocks(page: Path) -> list[Block]:
    """The python blocks of ``page``; those fenced ```` ```python skip ```` have ``skip`` set."""
    blocks = []
    for info, line, code in fenced_blocks(page.read_text(encoding="utf-8")):
        if not info or info[0].lower() not in ("python", "py"):
            continue
        skip = "skip" in (word.lower() for word in info[1:])
        blocks.append(Block(page, len(blocks) + 1, line, code, skip))
    return blocks


def indexed_pages() -> list[str]:
    """Pages linked from ``docs/index.md``, in order of first mention."""
    seen = []
    for match in LINK.finditer(INDEX.read_text(encoding="utf-8")):
        target = match["target"]
        if "://" not in target and target not in seen:
            seen.append(target)
    return seen


def all_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def execute(block: Block, namespace: dict) -> None:
    """Run ``block`` in ``namespace``; line numbers in tracebacks are the page's."""
    source = "\n" * (block.line - 1) + block.code
    exec(compile(source, str(block.page), "exec"), namespace)


def run_page(page: Path, echo=None) -> None:
    """Execute the python blocks of ``page`` in order, in the current directory.

    ``echo(block, output, seconds)``, if given, receives each block's stdout
    (otherwise stdout is left alone). A failing block raises ``AssertionError``
    naming the page, the block number and its first line, with the code and
    the traceback.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    namespace = {"__name__": "__main__", "__file__": str(page)}
    try:
        for block in python_blocks(page):
            if block.skip:
                continue
            start = time.perf_counter()
            buffer = io.StringIO()
            redirect = contextlib.redirect_stdout(buffer) if echo else contextlib.nullcontext()
            try:
                with redirect:
                    execute(block, namespace)
            except BaseException as err:  # noqa: BLE001 - reported with context below
                if isinstance(err, KeyboardInterrupt):
                    raise
                numbered = "\n".join(
                    f"{block.line + k:5d} | {text}"
                    for k, text in enumerate(block.code.rstrip("\n").splitlines())
                )
                raise AssertionError(
                    f"{page.name}: python block {block.number} (line {block.line}) failed "
                    f"with {type(err).__name__}: {err}\n\n{numbered}\n\n"
                    f"{traceback.format_exc()}"
                ) from None
            if echo:
                echo(block, buffer.getvalue(), time.perf_counter() - start)
    finally:
        plt.close("all")


# --------------------------------------------------------------------------- tests

PAGE_TIMEOUT = 900  # seconds; a page should take well under a minute


def test_index_lists_existing_pages():
    linked = indexed_pages()
    assert linked, "docs/index.md links no page"
    missing = [name for name in linked if not (DOCS / name).is_file()]
    assert not missing, f"docs/index.md links pages that do not exist: {missing}"
    unlisted = [p.name for p in all_pages() if p != INDEX and p.name not in linked]
    assert not unlisted, f"pages missing from the table of contents of docs/index.md: {unlisted}"


@pytest.mark.parametrize("page", [p.name for p in all_pages()])
def test_page_has_executed_examples(page):
    blocks = python_blocks(DOCS / page)
    if page != INDEX.name:
        assert any(not b.skip for b in blocks), f"{page} has no executed python block"


@pytest.mark.parametrize("page", [p.name for p in all_pages()])
def test_page_examples_run(page, tmp_path):
    """Each page runs in its own interpreter, as a reader's script would (fresh
    component ids, JAX state and process pools)."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, __file__, "--run", str(DOCS / page)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
    )
    if proc.returncode != 0:
        report = proc.stderr.split(REPORT_MARK, 1)[-1].strip() or proc.stderr[-5000:]
        pytest.fail(f"{report}\n\n--- stdout (last 3000 characters) ---\n{proc.stdout[-3000:]}",
                    pytrace=False)


# --------------------------------------------------------------------------- command line

REPORT_MARK = "=== docs example failure ===\n"


def _show(block: Block, output: str, seconds: float) -> None:
    print(f"----- {block.page.name} block {block.number} (line {block.line}, {seconds:.1f} s)")
    if output:
        print(output, end="" if output.endswith("\n") else "\n")


def main(argv) -> int:
    """Command line: ``PAGE ...`` executes each page (all pages without arguments) in a
    fresh interpreter and a temporary folder, printing every block's output;
    ``--run PAGE`` and ``--show PAGE`` execute one page in this process and folder
    (the first is what the tests use)."""
    if argv[:1] in (["--run"], ["--show"]):
        try:
            run_page(Path(argv[1]).resolve(), echo=_show if argv[0] == "--show" else None)
        except AssertionError as err:
            sys.stderr.write(REPORT_MARK + str(err) + "\n")
            return 1
        return 0
    status = 0
    for page in [Path(a).resolve() for a in argv] or all_pages():
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
            cmd = [sys.executable, str(Path(__file__).resolve()), "--show", str(page)]
            status |= subprocess.run(cmd, cwd=tmp, env=env).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
