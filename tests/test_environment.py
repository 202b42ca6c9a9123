"""The install files agree with each other: pyproject.toml, environment.yml, .ci/kit, .ci/run and README.md."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("notebooks", "video", "robot", "dev")
TOP_LEVEL = {"jepa_lab", "notebooks", "data", "tests", "benchmarks", "docs", "environment.yml", "README.md",
             "LICENSE", "CITATION.cff", "pyproject.toml", ".ci", ".gitignore",
             "instructor"}  # instructor/: the key to the graded exercises and the answers (not for students)


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def environment() -> dict:
    with open(ROOT / "environment.yml") as f:
        return yaml.safe_load(f)


def normalised(lines) -> dict[str, tuple[str, str]]:
    """requirement strings -> {canonical name: (sorted specifier, marker)}; a name listed twice is an error."""
    out = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in out, f"{req.name} is listed twice"
        spec = ",".join(sorted(str(s) for s in req.specifier))
        out[name] = (spec + (f"[{','.join(sorted(req.extras))}]" if req.extras else ""), str(req.marker or ""))
    return out


def pyproject_requirements() -> dict[str, tuple[str, str]]:
    project = pyproject()["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project["optional-dependencies"][extra]
    return normalised(lines)


def environment_pip_lines() -> list[str]:
    deps = environment()["dependencies"]
    sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one `pip:` section"
    return [str(line) for line in sections[0]]


def kit_torch() -> tuple[str, str]:
    """(pinned torch version, fallback requirement) as written in .ci/kit."""
    kit = (ROOT / ".ci" / "kit").read_text()
    pin = re.search(r'JEPA_LAB_TORCH_VERSION:-([0-9][0-9.]*)\}', kit)
    fallback = re.search(r'^TORCH_FALLBACK="([^"]+)"', kit, re.M)
    assert pin and fallback, ".ci/kit must define the torch pin and TORCH_FALLBACK"
    return pin.group(1), fallback.group(1)


def quickstart_commands() -> list[str]:
    """Lines of the first code block under the README's `## Quickstart` heading."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Quickstart\s*$(.*?)(?=^## )", readme, re.M | re.S)
    assert section, "README.md needs a '## Quickstart' section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the Quickstart section needs a code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_pyproject_and_environment_list_the_same_packages():
    env_reqs = normalised(line for line in environment_pip_lines() if not line.startswith("-e"))
    assert env_reqs == pyproject_requirements()


def test_environment_yml_is_conda_forge_python_310_and_installs_the_kit():
    env = environment()
    assert env["channels"] == ["conda-forge"]
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "pip" in conda_deps
    python = [d for d in conda_deps if d.startswith("python")]
    assert python == ["python>=3.10"]
    assert pyproject()["project"]["requires-python"] == ">=3.10"
    assert "-e ." in environment_pip_lines()


def test_torch_pin_satisfies_the_pyproject_range():
    torch_req = Requirement(next(d for d in pyproject()["project"]["dependencies"] if d.startswith("torch")))
    pin, fallback = kit_torch()
    assert torch_req.specifier.contains(Version(pin)), f"torch=={pin} must satisfy {torch_req}"
    # the fallback must not ask for anything the package itself does not accept
    assert Requirement(fallback).specifier == torch_req.specifier


def test_readme_quickstart_is_exactly_the_kit_commands_ci_runs():
    assert quickstart_commands() == [".ci/kit lab", ".ci/kit test"]
    run = (ROOT / ".ci" / "run").read_text()
    execs = [line.split() for line in run.splitlines() if line.startswith("exec ")]
    assert len(execs) == 1, ".ci/run must end in a single exec line"
    words = [w for w in execs[0][1:] if w != "bash"]
    assert words[0] == '"$(dirname' and words[1].endswith('/kit"'), words
    assert ".ci/kit " + " ".join(words[2:]) in quickstart_commands()


def test_ci_scripts_are_executable_and_the_kit_knows_its_commands():
    for name in ("run", "kit"):
        assert os.access(ROOT / ".ci" / name, os.X_OK), f".ci/{name} must be executable"
    usage = subprocess.run(["bash", str(ROOT / ".ci" / "kit"), "--help"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 0
    for command in ("setup", "lab", "test"):
        assert re.search(rf"^\s+{command}\s", usage.stdout, re.M), usage.stdout
    unknown = subprocess.run(["bash", str(ROOT / ".ci" / "kit"), "bogus"], capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2 and "expected setup, lab or test" in unknown.stderr
    kit = (ROOT / ".ci" / "kit").read_text()
    assert "JEPA_LAB_FAST=1" in kit and "--nbval" in kit


def test_top_level_layout():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    if listed.returncode != 0:
        pytest.skip("git is not usable here")
    tracked = {line.split("/", 1)[0] for line in listed.stdout.splitlines()}
    assert tracked <= TOP_LEVEL, f"unexpected top-level entries: {sorted(tracked - TOP_LEVEL)}"


def test_every_image_the_readme_shows_is_in_the_repo_and_small():
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    local = [p for p in images if not p.startswith(("http://", "https://"))]
    assert local, "the README shows the widgets' screenshots"
    for rel in local:
        path = ROOT / rel
        assert path.is_file(), f"README shows {rel}, which is missing (regenerate: see 'What the widgets look like')"
        assert path.stat().st_size < 400_000, f"{rel} is {path.stat().st_size:,} bytes; keep screenshots small"


def test_a_regular_install_carries_the_shipped_checkpoints():
    """pyproject's data-files put every shipped file into <prefix>/share/jepa-lab/data, where the loader looks
    when the package is not inside a clone (a wheel built from this tree was checked to hold them all)."""
    import fnmatch

    from jepa_lab.weights.pretrained import DATA_DIRS, SHIPPED

    data_files = pyproject()["tool"]["setuptools"]["data-files"]
    globs = data_files["share/jepa-lab/data"]
    for file, _ in SHIPPED.values():
        assert (ROOT / "data" / file).is_file(), file
        assert any(fnmatch.fnmatch(f"data/{file}", g) for g in globs), f"data/{file} is not in pyproject's data-files"
    assert Path(sys.prefix) / "share" / "jepa-lab" / "data" in DATA_DIRS
