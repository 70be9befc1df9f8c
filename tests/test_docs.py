"""Runs the code blocks of the guide in docs/, so the documentation cannot rot.

Each page's ```python blocks run in order in one namespace, in a temporary working
directory (blocks save files). A block may be skipped only by a comment line
``<!-- docs-test: skip: <reason> -->`` right before it, and the reason must be given.
Relative links between pages must point at files that exist.
"""

import os
import re

import pytest

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
GUIDE = ["functional_api.md", "multi_io.md", "shared_layers.md", "models_as_layers.md",
         "training.md", "saving.md", "differences.md"]
BLOCK = re.compile(r"(?:<!-- docs-test: skip:(?P<reason>[^>]*)-->\n)?```python\n(?P<code>.*?)```",
                   re.S)
LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")


def blocks(page: str) -> list:
    """``(line, code, skip_reason)`` of each python block of ``page``."""
    with open(os.path.join(DOCS, page)) as f:
        text = f.read()
    return [(text.count("\n", 0, m.start("code")) + 1, m.group("code"),
             None if m.group("reason") is None else m.group("reason").strip())
            for m in BLOCK.finditer(text)]


@pytest.mark.parametrize("page", GUIDE)
def test_page_code_runs(page, tmp_path, monkeypatch):
    found = blocks(page)
    assert found or page == "differences.md", f"{page} has no code blocks"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs.{page}"}
    for line, code, reason in found:
        if reason is not None:
            assert reason, f"{page}:{line}: a skipped block must say why"
            continue
        # Line numbers in tracebacks are the page's own.
        exec(compile("\n" * (line - 1) + code, os.path.join(DOCS, page), "exec"), namespace)


def test_index_lists_every_page_and_links_resolve():
    with open(os.path.join(DOCS, "README.md")) as f:
        index = f.read()
    for page in GUIDE + ["design.md", "performance.md"]:
        assert f"]({page})" in index, page
    for page in ["README.md"] + GUIDE:
        with open(os.path.join(DOCS, page)) as f:
            for target in LINK.findall(f.read()):
                if target == "performance.md":  # another worker writes it; may not exist yet
                    continue
                assert os.path.exists(os.path.join(DOCS, target)), f"{page} links {target}"
