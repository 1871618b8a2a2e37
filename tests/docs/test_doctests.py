"""Every ``>>>`` example in the library's docstrings runs and prints what it shows."""

import doctest
import importlib
import importlib.util
import pkgutil

import pytest
import torch

import geomrep
from geomrep.datasets import data_root

# Modules whose examples are not run here, with the reason. (None at present.)
EXCLUDED: dict[str, str] = {}


def _data_present(*parts: str) -> bool:
    try:
        return data_root(None, parts[0]).joinpath(*parts[1:]).exists()
    except (FileNotFoundError, ValueError):
        return False


# Examples that read the real datasets run where the data is (as tests/datasets does), else are skipped.
NEEDS_DATA = {
    "geomrep.datasets.tu": _data_present("tudatasets", "MUTAG", "raw"),
    "geomrep.datasets.zinc": _data_present("zinc12k", "smiles_score.csv")
    and importlib.util.find_spec("rdkit") is not None,
}


def _modules() -> list[str]:
    names = ["geomrep"]
    for info in pkgutil.walk_packages(geomrep.__path__, prefix="geomrep."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


MODULES = _modules()
FINDER = doctest.DocTestFinder(exclude_empty=True)


def _examples(modname: str) -> list[doctest.DocTest]:
    module = importlib.import_module(modname)
    return [t for t in FINDER.find(module, modname, extraglobs={"torch": torch}) if t.examples]


def test_examples_are_found():
    """The walker sees the docstring examples of the whole library (a broken walker would pass vacuously)."""
    assert len(MODULES) > 50
    counted = sum(len(t.examples) for name in MODULES if name not in EXCLUDED for t in _examples(name))
    assert counted > 100


@pytest.mark.parametrize("modname", [m for m in MODULES if m not in EXCLUDED])
def test_docstring_examples(modname):
    if not NEEDS_DATA.get(modname, True):
        pytest.skip(f"the data read by the examples of {modname} is not available (set GEOMREP_DATA)")
    tests = _examples(modname)
    if not tests:
        return
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    state = torch.get_default_dtype(), torch.random.get_rng_state()
    try:
        for test in tests:
            torch.manual_seed(0)
            runner.run(test, out=report.append)
    finally:
        torch.set_default_dtype(state[0])
        torch.random.set_rng_state(state[1])
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
