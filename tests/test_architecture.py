"""The layers of docs/design.md, checked: import contracts, no cycles, no torch on the render path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    pytest.importorskip("importlinter")
    tool = Path(sys.executable).parent / "lint-imports"  # the console script of this environment
    done = subprocess.run([str(tool), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " 0 broken" in done.stdout and "broken" in done.stdout


def test_no_import_cycles_between_modules():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("cppnart")
    modules = sorted(m for m in graph.modules if m.startswith("cppnart"))
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if not imported.startswith("cppnart.") or imported in ("cppnart",):
                continue
            if state.get(imported) == 1:
                cycle = path[path.index(imported) :] + [imported] if imported in path else [module, imported]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if state.get(imported) is None:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in modules:
        if module != "cppnart" and state.get(module) is None:
            visit(module, [module])


def test_import_cppnart_is_light_and_rendering_never_loads_torch():
    code = (
        "import sys, cppnart; light = sorted(m for m in ('onnxruntime', 'torch', 'PIL') if m in sys.modules); "
        "net = cppnart.load_model('classic', seed=1); net.render(None, 16, 16); "
        "from cppnart.cli import app; "
        "print(light, 'torch' in sys.modules, 'kornia' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] False False"


def test_every_public_name_has_a_docstring():
    """Every name `import cppnart` offers; without torch the training names say how to get it."""
    import cppnart

    from .conftest import HAVE_TORCH

    for name in cppnart.__all__:
        if name == "__version__":
            continue
        if not HAVE_TORCH and cppnart._API.get(name, "").startswith("train."):
            with pytest.raises(ImportError, match=r'pip install -e "\.\[train\]"'):
                getattr(cppnart, name)
            continue
        assert (getattr(cppnart, name).__doc__ or "").strip(), name
