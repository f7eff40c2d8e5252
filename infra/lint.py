"""cfn-lint over templates, offline (cfn-lint ships its resource specs).

    python -m infra.lint [--stage dev] [TEMPLATE ...]

Without arguments: renders the resources template of every stage and lints
it, plus build/<stage>/app.json where a package has been built.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.resources_template import render
from infra.stages import DEPLOYABLE_STAGES, ROOT, stage_config


def cfn_lint_executable() -> str:
    beside_python = Path(sys.executable).parent / "cfn-lint"
    if not beside_python.exists():
        raise SystemExit("cfn-lint is not installed in this environment: run `make install`")
    return str(beside_python)


def lint(templates: list[Path]) -> str:
    """cfn-lint's findings for ``templates`` ('' when clean)."""
    result = subprocess.run([cfn_lint_executable(), "--format", "parseable",
                             *map(str, templates)],
                            capture_output=True, text=True, timeout=300, check=False)
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14):
        raise RuntimeError(f"cfn-lint did not run: {result.stderr or result.stdout}")
    return result.stdout.strip()


def default_templates(directory: Path) -> list[Path]:
    templates = []
    for stage_name in DEPLOYABLE_STAGES:
        rendered = directory / f"resources-{stage_name}.json"
        rendered.write_text(json.dumps(render(stage_config(stage_name)), indent=2))
        templates.append(rendered)
        built = ROOT / "build" / stage_name / "app.json"
        if built.exists():
            templates.append(built)
    return templates


def main() -> int:
    parser = argparse.ArgumentParser(description="cfn-lint every template.")
    parser.add_argument("templates", nargs="*", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        templates = args.templates or default_templates(Path(scratch))
        problems = lint(templates)
    for template in templates:
        print(f"linted {template.parent.name}/{template.name}")
    print(problems or "cfn-lint: clean")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
