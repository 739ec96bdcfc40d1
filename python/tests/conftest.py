"""Fixtures of the pmpd package's tests: artifacts of the bundled model,
compiled once per test session by the build's tools.

The build is $PMPD_BUILD_DIR (default: build/ at the top of the repository):
its bin/ has the tools, and its lib/libpmpd.so is the library under test
unless PMPD_LIBRARY names another."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("PMPD_BUILD_DIR", ROOT / "build"))
FIXTURES = ROOT / "fixtures"
MODEL = FIXTURES / "pmpd-tiny-llama"
DOCS = FIXTURES / "docs-val.jsonl.xz"
REFS = FIXTURES / "refs"
# 2 decode steps at each precision: short generations see every switch.
SCHEDULE = "prefill=4;decode=4@0,3@2,2@4"

os.environ.setdefault("PMPD_LIBRARY", str(BUILD / "lib" / "libpmpd.so"))


def tool(name, *args, **kwargs):
    """Runs one of the build's tools; its standard output."""
    return subprocess.run([str(BUILD / "bin" / name), *map(str, args)],
                          check=True, capture_output=True, text=True,
                          **kwargs).stdout


def run_json(artifact, *args):
    """pmpd-run's --json output."""
    return json.loads(tool("pmpd-run", artifact, *args, "--json"))


@pytest.fixture(scope="session")
def fp16_artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("fp16") / "art"
    tool("pmpd-compile", MODEL, "-o", path)
    return path


@pytest.fixture(scope="session")
def quantized(tmp_path_factory):
    """The bundled model, any-precision (pmpd-quantize)."""
    path = tmp_path_factory.mktemp("q") / "q"
    tool("pmpd-quantize", MODEL, "-o", path, "--calib-docs", "2",
         "--calib-length", "64")
    return path


@pytest.fixture(scope="session")
def pmpd_artifact(quantized, tmp_path_factory):
    """The any-precision model compiled with SCHEDULE."""
    path = tmp_path_factory.mktemp("pmpd") / "art"
    tool("pmpd-compile", quantized, "-o", path, "--schedule", SCHEDULE)
    return path


@pytest.fixture(scope="session")
def fp16(fp16_artifact):
    import pmpd
    with pmpd.load(fp16_artifact) as model:
        yield model


@pytest.fixture(scope="session")
def model(pmpd_artifact):
    import pmpd
    with pmpd.load(pmpd_artifact) as model:
        yield model


# --lit-results FILE: the outcome of every test added to lit's JSON results
# (lit -o FILE; a new file if there is none), so that scripts/lit-totals.py
# counts them with the lit suites.
_LIT_CODES = {"passed": "PASS", "skipped": "SKIPPED", "failed": "FAIL"}
_RANK = ["PASS", "SKIPPED", "FAIL"]
_outcomes = {}


def pytest_addoption(parser):
    parser.addoption("--lit-results", metavar="FILE",
                     help="add the results to lit's JSON results (lit -o)")


def _record(name, outcome):
    code = _LIT_CODES[outcome]
    if _RANK.index(code) >= _RANK.index(_outcomes.get(name, "PASS")):
        _outcomes[name] = code


def pytest_runtest_logreport(report):
    # A test's call, or the setup or teardown that failed or skipped it.
    if report.when == "call" or report.outcome != "passed":
        _record(report.nodeid, report.outcome)


def pytest_collectreport(report):
    if report.failed:
        _record(report.nodeid or "collection", "failed")


def pytest_sessionfinish(session):
    path = session.config.getoption("--lit-results")
    if not path:
        return
    results = {"tests": []}
    if os.path.exists(path):
        with open(path) as f:
            results = json.load(f)
    results["tests"] += [{"name": "pmpd-python :: " + name, "code": code}
                         for name, code in _outcomes.items()]
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
