"""Spec 47's boundary: only ``python/concord/runtime/`` may import ``dbos``. The client,
installer and CLI stay thin callers of SQL that work without the DBOS runtime.

An AST scan, so strings and comments that mention dbos do not count, while every way of
importing it does: ``import dbos``, ``import dbos.x``, ``from dbos import ...``,
``from dbos.x import ...``, and ``importlib.import_module("dbos...")`` /
``__import__("dbos...")`` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "python" / "concord"
RUNTIME = PACKAGE / "runtime"


def _is_dbos(name: str | None) -> bool:
    return name is not None and (name == "dbos" or name.startswith("dbos."))


def dbos_imports(source: str, filename: str = "<source>") -> list[int]:
    """Line numbers where ``source`` imports dbos."""
    lines = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            if any(_is_dbos(alias.name) for alias in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and _is_dbos(node.module):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _is_dbos(first.value)
            ):
                lines.append(node.lineno)
    return sorted(lines)


def boundary_violations(package: Path) -> list[str]:
    """``path:line`` of every dbos import in ``package`` outside ``package/runtime``."""
    runtime = package / "runtime"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.is_relative_to(runtime):
            continue
        for line in dbos_imports(path.read_text(), str(path)):
            offenders.append(f"{path.relative_to(package.parent)}:{line}")
    return offenders


def test_only_the_runtime_imports_dbos() -> None:
    """Rule: spec 47 — only python/concord/runtime/ imports dbos."""
    scanned = [p.name for p in PACKAGE.glob("*.py")]
    assert {"client.py", "errors.py", "migrate.py", "cli.py"} <= set(scanned), scanned
    offenders = boundary_violations(PACKAGE)
    assert offenders == [], "dbos imported outside python/concord/runtime/: " + ", ".join(offenders)


def test_the_scanner_flags_every_way_of_importing_dbos(tmp_path: Path) -> None:
    """The check above can fail: a module outside runtime/ that imports dbos is flagged,
    in each import form, and the same imports inside runtime/ are allowed."""
    package = tmp_path / "concord"
    (package / "runtime").mkdir(parents=True)
    forms = {
        "plain.py": "import os\nimport dbos\n",
        "dotted.py": "import json, dbos.cli\n",
        "aliased.py": "import dbos as d\n",
        "from_package.py": "from dbos import DBOS\n",
        "from_submodule.py": "def f():\n    from dbos._error import DBOSException\n",
        "dynamic.py": "import importlib\nmod = importlib.import_module('dbos')\n",
        "builtin.py": "mod = __import__('dbos._sys_db')\n",
    }
    for name, source in forms.items():
        (package / name).write_text(source)
    (package / "runtime" / "worker.py").write_text("from dbos import DBOS\nimport dbos\n")
    (package / "runtime" / "nested").mkdir()
    (package / "runtime" / "nested" / "steps.py").write_text("import dbos\n")
    assert boundary_violations(package) == [
        "concord/aliased.py:1",
        "concord/builtin.py:1",
        "concord/dotted.py:1",
        "concord/dynamic.py:2",
        "concord/from_package.py:1",
        "concord/from_submodule.py:2",
        "concord/plain.py:2",
    ]


def test_the_scanner_leaves_clean_modules_alone(tmp_path: Path) -> None:
    """Mentions that are not imports of the dbos package are not flagged."""
    package = tmp_path / "concord"
    package.mkdir()
    (package / "clean.py").write_text(
        '"""Hands work to dbos.enqueue_workflow (a SQL function), see DESIGN."""\n'
        "# import dbos  (a comment)\n"
        "import dbosish\n"
        "from . import dbos_bridge\n"
        "from .runtime import dbos\n"
        "QUERY = 'SELECT dbos.send_message($1)'\n"
        "import psycopg\n"
    )
    assert boundary_violations(package) == []
