"""Every public name in the package has a docstring (CONTRIBUTING: "every public name gets one").

Public: a module, or a module-level function or class whose name does not start with ``_``, and
each method or property (not starting with ``_``) of such a class.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cppnart"


def missing_docstrings(source: str, where: str) -> list[str]:
    """The public names of one module's source that lack a docstring, as ``where:line name``."""
    tree = ast.parse(source)
    missing = [] if ast.get_docstring(tree) else [f"{where}: module"]
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name.startswith("_"):
            continue
        if not ast.get_docstring(node):
            missing.append(f"{where}:{node.lineno} {node.name}")
        if isinstance(node, ast.ClassDef):
            for sub in node.body:
                if (
                    isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and not sub.name.startswith("_")
                    and not ast.get_docstring(sub)
                ):
                    missing.append(f"{where}:{sub.lineno} {node.name}.{sub.name}")
    return missing


def test_the_walk_finds_what_lacks_a_docstring():
    source = (
        "def shown():\n    pass\n\n"
        "def _hidden():\n    pass\n\n"
        "class Thing:\n    '''Has one.'''\n\n"
        "    @property\n    def size(self):\n        return 1\n\n"
        "    def _own(self):\n        pass\n\n"
        "class _Private:\n    def run(self):\n        pass\n"
    )
    assert missing_docstrings(source, "m.py") == ["m.py: module", "m.py:1 shown", "m.py:11 Thing.size"]
    assert missing_docstrings('"""Doc."""\n\ndef f():\n    """Doc."""\n', "m.py") == []


def test_every_public_name_has_a_docstring():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the walk sees the whole package, not an empty folder
    missing = [
        name
        for path in files
        for name in missing_docstrings(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert not missing, f"{len(missing)} public names lack a docstring:\n" + "\n".join(missing)
