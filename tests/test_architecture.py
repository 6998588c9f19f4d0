"""The layers of the design hold, and a change that breaks one is caught.

The import contracts in pyproject.toml ([tool.importlinter]) are checked by
`lint-imports`, here and in .ci/run; this file also checks what import-linter cannot say
(the domain imports only the standard library, pydantic and transitions; `cli.py` only
`journey.cli`) and shows, on a copy of the tree with a deliberate violation, that a
broken contract fails.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
DOMAIN_MAY_IMPORT = {"pydantic", "transitions", "holidays"}


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    # The tree's own copy first on the path, ahead of the installed project.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports are not used here)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def foreign_imports(package: Path, own: str, allowed: set[str]) -> list[str]:
    """Imports of `package`'s files outside the standard library, `allowed` and `own`."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        for module in sorted(imported_modules(path)):
            top = module.split(".")[0]
            if module == own or module.startswith(own + ".") or top in sys.stdlib_module_names or top in allowed:
                continue
            problems.append(f"{path.relative_to(package.parent.parent)}: imports {module}")
    return problems


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_layer_and_a_forbidden_library_are_reported(tmp_path: Path) -> None:
    for name in ("journey", "workflows", "activities", "playbooks"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    # The domain reaching up into the store, and the store drawing a chart.
    with (tmp_path / "journey" / "domain" / "enums.py").open("a") as source:
        source.write("\nimport journey.store.records  # noqa\n")
    with (tmp_path / "journey" / "store" / "records.py").open("a") as source:
        source.write("\nimport matplotlib  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "journey.domain.enums -> journey.store.records" in result.stdout
    assert "Only reports draw with matplotlib BROKEN" in result.stdout
    assert "Dependencies point one way" in result.stdout and "BROKEN" in result.stdout


def test_the_domain_imports_only_the_standard_library_pydantic_and_transitions() -> None:
    assert foreign_imports(ROOT / "journey" / "domain", "journey.domain", DOMAIN_MAY_IMPORT) == []


def test_the_domain_check_reports_a_foreign_import(tmp_path: Path) -> None:
    package = tmp_path / "journey" / "domain"
    package.mkdir(parents=True)
    (package / "ok.py").write_text("import datetime\nfrom pydantic import BaseModel\nfrom journey.domain.ok import x\n")
    (package / "bad.py").write_text("import sqlalchemy as sa\nfrom journey.config import journey_home\n")
    assert foreign_imports(package, "journey.domain", DOMAIN_MAY_IMPORT) == [
        "journey/domain/bad.py: imports journey.config",
        "journey/domain/bad.py: imports sqlalchemy",
    ]


def test_the_console_script_only_hands_over_to_journey_cli() -> None:
    assert imported_modules(ROOT / "cli.py") == {"journey.cli"}


def test_the_cli_states_the_worker_cache_default_of_the_worker_assembly() -> None:
    from journey.cli.servers import DEFAULT_MAX_CACHED_WORKFLOWS as shown
    from workflows.worker import DEFAULT_MAX_CACHED_WORKFLOWS

    assert shown == DEFAULT_MAX_CACHED_WORKFLOWS
