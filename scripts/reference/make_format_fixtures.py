#!/usr/bin/env python3
"""Writes the safetensors and .npy fixtures for Rucksack's format tests.

Usage (from the repository root):
    scripts/reference/setup_venv.sh
    scripts/reference/.venv/bin/python scripts/reference/make_format_fixtures.py

The files go to Tests/RucksackCoreTests/Fixtures/formats/. Their contents are listed in
format_fixture_values.py, which also documents the value formulas.
"""

import pathlib
import sys

import numpy as np
from safetensors.numpy import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from format_fixture_values import NPY_FILES, SAFETENSORS_FILES, values  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "RucksackCoreTests" / "Fixtures" / "formats"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (tensors, metadata) in SAFETENSORS_FILES.items():
        arrays = {key: values(dtype, shape) for key, (dtype, shape) in tensors.items()}
        save_file(arrays, str(OUT / name), metadata=metadata)

    for name, (dtype, shape, variant) in NPY_FILES.items():
        array = values(dtype, shape)
        path = OUT / name
        if variant == "c":
            np.save(path, array)
        elif variant == "fortran":
            fortran = np.asfortranarray(array)
            assert not fortran.flags.c_contiguous
            np.save(path, fortran)
        elif variant == "big":
            np.save(path, array.astype(array.dtype.newbyteorder(">")))
        elif variant in ("v2", "v3"):
            with open(path, "wb") as file:
                np.lib.format.write_array(file, array, version=(2, 0) if variant == "v2" else (3, 0))
        else:
            raise ValueError(variant)

    for path in OUT.iterdir():
        path.chmod(0o644)  # the safetensors writer creates files private to the user
    total = sum(path.stat().st_size for path in OUT.iterdir())
    print(f"wrote {len(SAFETENSORS_FILES) + len(NPY_FILES)} fixtures ({total} bytes) to {OUT}")


if __name__ == "__main__":
    main()
