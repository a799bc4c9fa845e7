#!/usr/bin/env python3
"""Checks that files written by Rucksack load in NumPy and safetensors with the expected values.

Usage (from the repository root):
    RUCKSACK_FORMAT_OUTPUT_DIR=/tmp/rucksack-out swift test --filter PythonCheckOutput
    scripts/reference/.venv/bin/python scripts/reference/check_rucksack_outputs.py /tmp/rucksack-out/*

Each file must be named like a fixture in format_fixture_values.py; its contents must equal
the formula values for that fixture (Rucksack always writes C order, little-endian). .npy
files must also be byte-identical to numpy.save's output. Exits with status 1 on any mismatch.
"""

import io
import pathlib
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from format_fixture_values import NPY_FILES, SAFETENSORS_FILES, values  # noqa: E402


def same(actual: np.ndarray, expected: np.ndarray) -> bool:
    return actual.dtype == expected.dtype and actual.shape == expected.shape and np.array_equal(actual, expected)


def check_npy(path: pathlib.Path) -> list:
    dtype, shape, _ = NPY_FILES[path.name]
    expected = values(dtype, shape)
    actual = np.load(path, allow_pickle=False)
    problems = []
    if not same(actual, expected):
        problems.append(f"values differ: got {actual.dtype} {actual.shape} {actual!r}")
    reference = io.BytesIO()
    np.save(reference, expected)
    if path.read_bytes() != reference.getvalue():
        problems.append("bytes differ from numpy.save's output")
    return problems


def check_safetensors(path: pathlib.Path) -> list:
    tensors, metadata = SAFETENSORS_FILES[path.name]
    loaded = load_file(str(path))
    problems = []
    if set(loaded) != set(tensors):
        problems.append(f"tensor names {sorted(loaded)} != {sorted(tensors)}")
    for name, (dtype, shape) in tensors.items():
        if name in loaded and not same(loaded[name], values(dtype, shape)):
            problems.append(f"tensor {name} differs: got {loaded[name].dtype} {loaded[name].shape}")
    with safe_open(str(path), framework="numpy") as file:
        if (file.metadata() or {}) != (metadata or {}):
            problems.append(f"metadata {file.metadata()} != {metadata}")
    return problems


def main(paths: list) -> int:
    if not paths:
        print(__doc__)
        return 2
    failures = 0
    for argument in paths:
        path = pathlib.Path(argument)
        try:
            if path.name in NPY_FILES:
                problems = check_npy(path)
            elif path.name in SAFETENSORS_FILES:
                problems = check_safetensors(path)
            else:
                problems = ["not a known fixture name"]
        except Exception as error:  # a file that fails to load is a failure, not a crash
            problems = [f"{type(error).__name__}: {error}"]
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print(f"{path.name}: {status}")
        failures += bool(problems)
    print(f"{len(paths) - failures} of {len(paths)} files ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
