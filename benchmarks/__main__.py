"""Run every benchmark script under benchmarks/ (`python -m benchmarks [name ...]`); each prints JSON lines."""
import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")]
    for name in names:
        if argv and name not in argv and name[len("bench_"):] not in argv:
            continue
        print(f"# {name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").main([])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
