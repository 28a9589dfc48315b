"""The package as a user installs it: a wheel built from this checkout carries every
module, every migration and every ``sql/`` file; installed into a fresh virtual
environment outside the checkout, its ``concord migrate`` makes an empty database complete
from the SQL inside the wheel, and ``python -m concord --version`` says the version.

The wheel is built without build isolation (hatchling comes with the dev extras), and the
fresh environment borrows the dependencies of the one running the tests through a ``.pth``
file, so nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import os
import site
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import psycopg
import pytest

from concord import migrate as installer

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "python" / "concord"
MIGRATIONS = ROOT / "migrations"
SQL_DIR = ROOT / "sql"
# Only what a user's shell would hold: no PYTHONPATH, no PG* variables, no CONCORD_DSN.
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in {"PYTHONPATH", "CONCORD_DSN", "VIRTUAL_ENV"} and not k.startswith("PG")
}


def run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``argv`` in ``cwd`` with the clean environment; fails the test on a non-zero exit."""
    done = subprocess.run(
        argv, cwd=cwd, env=CLEAN_ENV, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{argv}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        cwd=out,
    )
    (built,) = out.glob("concord-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (no pip of its own) holding the wheel; it imports the
    dependencies from this interpreter's site-packages, listed after its own."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    own = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=env_dir,
    ).stdout.strip()
    (Path(own) / "borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        cwd=env_dir,
    )
    return env_dir


def test_the_wheel_carries_every_module_migration_and_sql_file(wheel: Path) -> None:
    """Rule: the wheel holds every module under python/concord, and migrations/ and sql/
    (load_order included) byte for byte under concord/_data/, where the installed package
    looks first."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = {f"concord/{p.relative_to(PACKAGE).as_posix()}": p for p in PACKAGE.rglob("*.py")}
        for folder in (MIGRATIONS, SQL_DIR):
            for path in folder.rglob("*"):
                if path.is_file():
                    data_name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
                    shipped[f"concord/_data/{data_name}"] = path
        assert "concord/_data/sql/load_order" in shipped
        assert sorted(set(shipped) - names) == []
        for name, path in shipped.items():
            assert archive.read(name) == path.read_bytes(), name
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_an_installed_wheel_migrates_from_outside_the_checkout(
    installed: Path, fresh_dsn: str, tmp_path: Path
) -> None:
    """Rule: `pip install` of the wheel is enough — its `concord migrate`, run from a folder
    outside the checkout, finds the SQL inside the installed package and makes an empty
    database complete: every shipped migration recorded with its checksum, the sql/ files
    applied (concord.submit_command exists)."""
    python = installed / "bin" / "python"
    where = run(
        [
            str(python),
            "-c",
            "import concord, concord.migrate as m\n"
            "print(concord.__file__)\nprint(m.shipped_root())",
        ],
        cwd=tmp_path,
    ).stdout.splitlines()
    assert all(Path(line).is_relative_to(installed) for line in where), where

    done = run([str(installed / "bin" / "concord"), "migrate", "--dsn", fresh_dsn], cwd=tmp_path)
    migrations = sorted(MIGRATIONS.glob("*.sql"))
    for path in migrations:
        assert f"applying {path.name}" in done.stdout
    sql_files = installer.discover_sql_files(SQL_DIR)
    assert f"sql: re-applied {len(sql_files)} files" in done.stdout
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        recorded = conn.execute(
            "SELECT version, name, checksum FROM concord.schema_migrations ORDER BY version"
        ).fetchall()
        assert recorded == [
            (int(p.name[:4]), p.stem[5:], hashlib.sha256(p.read_bytes()).hexdigest())
            for p in migrations
        ]
        assert (
            conn.execute(
                "SELECT count(*) FROM pg_proc WHERE proname = 'submit_command' "
                "AND pronamespace = 'concord'::regnamespace"
            ).fetchone()[0]
            >= 1
        )


def test_the_installed_package_says_its_version(installed: Path, tmp_path: Path) -> None:
    """Rule: `python -m concord --version` and `concord --version` print the version of
    the installed distribution (the one pyproject.toml declares)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    expected = f"concord {declared}"
    for argv in (
        [str(installed / "bin" / "python"), "-m", "concord", "--version"],
        [str(installed / "bin" / "concord"), "--version"],
    ):
        assert run(argv, cwd=tmp_path).stdout.strip() == expected


def test_a_checkout_install_reads_the_checkout(tmp_path: Path) -> None:
    """Rule: an editable install (the one the tests run from) has no SQL of its own and
    reads the checkout's migrations/ and sql/, so an edit there is what migrate applies."""
    if (PACKAGE / "_data").exists():
        pytest.fail("python/concord/_data exists: the checkout must not hold a copy of the SQL")
    assert installer.shipped_root() == ROOT
    assert installer.resolve_dirs(None, None) == (MIGRATIONS, SQL_DIR)
    given = (tmp_path / "m", tmp_path / "s")
    assert installer.resolve_dirs(*given) == given
