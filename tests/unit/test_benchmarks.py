"""`python -m benchmarks` calls every benchmark's `main([])`: each must take its arguments as a list."""
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

BENCHMARKS = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parents[2] / "benchmarks")])
                    if m.name.startswith("bench_"))


def test_there_are_benchmarks():
    assert len(BENCHMARKS) >= 10


@pytest.mark.parametrize("name", BENCHMARKS)
def test_main_takes_an_argument_list(name):
    main = importlib.import_module(f"benchmarks.{name}").main
    signature = inspect.signature(main)
    signature.bind([])  # raises TypeError when main() takes no argv
    with pytest.raises(SystemExit):
        main(["--help"])  # parses the given list, not the test runner's command line
