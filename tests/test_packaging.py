"""pyproject.toml and environment.yml must list the same packages and minimum versions."""
import re
import tomllib

from course_lib import config

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name
NOT_PACKAGES = {"python", "pip"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((config.REPO_ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["test"])
    return dict(_split(r) for r in reqs)


def environment_requirements() -> dict[str, str]:
    out = {}
    text = (config.REPO_ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)(.*)$", line)
        if m:
            name, spec = m.group(1).lower(), m.group(2).split("#")[0].replace(" ", "")
            if name not in NOT_PACKAGES:
                out[CONDA_NAMES.get(name, name)] = spec
    return out


def test_environment_yml_agrees_with_pyproject():
    assert environment_requirements() == pyproject_requirements()


def test_the_comparison_would_notice_a_difference(monkeypatch):
    envs = environment_requirements()
    envs["numpy"] = ">=0.1"
    assert envs != pyproject_requirements()


def test_makefile_pins_the_cpu_wheel_and_installs_test_extras():
    makefile = (config.REPO_ROOT / "Makefile").read_text()
    assert "torch==2.13.0" in makefile and ".[test]" in makefile
    assert (config.REPO_ROOT / ".ci" / "run").read_text().strip().endswith("make test")
