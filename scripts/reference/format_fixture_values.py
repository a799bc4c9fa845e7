"""Deterministic array values shared by the format fixtures and the Rucksack output check.

Every array is filled from its flat row-major index i = 0, 1, 2, ... by a formula per dtype,
so the Swift tests (Tests/RucksackCoreTests/Formats/FormatFixtureValues.swift) can compute
the same values independently:

    F32:  float32(i - 2) / float32(3)   (float32 arithmetic, correctly rounded)
    F64:  float64(i - 2) / 3.0          (float64 arithmetic, correctly rounded)
    I64:  (i - 2) * 3_000_000_019       (leaves the Int32 range)
    I32:  (i - 2) * 100_003
    U8:   (i * 37 + 11) % 256
    BOOL: i % 3 == 0

Keep this file and the Swift copy in sync.
"""

import numpy as np

DTYPES = {
    "F32": np.float32,
    "F64": np.float64,
    "I64": np.int64,
    "I32": np.int32,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def values(dtype: str, shape: tuple) -> np.ndarray:
    """The fixture array of the given safetensors dtype name and shape, C-ordered, little-endian."""
    count = int(np.prod(shape, dtype=np.int64))
    i = np.arange(count, dtype=np.int64)
    if dtype == "F32":
        flat = (i - 2).astype(np.float32) / np.float32(3)
    elif dtype == "F64":
        flat = (i - 2).astype(np.float64) / 3.0
    elif dtype == "I64":
        flat = (i - 2) * np.int64(3_000_000_019)
    elif dtype == "I32":
        flat = ((i - 2) * 100_003).astype(np.int32)
    elif dtype == "U8":
        flat = ((i * 37 + 11) % 256).astype(np.uint8)
    elif dtype == "BOOL":
        flat = i % 3 == 0
    else:
        raise ValueError(f"unknown dtype {dtype}")
    return flat.astype(DTYPES[dtype]).reshape(shape)


# The safetensors fixtures: file name -> (tensors {name: (dtype, shape)}, metadata or None).
# The Rust writer orders several metadata keys randomly, so regenerating metadata.safetensors
# may change its bytes (not its contents); files with at most one key are reproducible, and
# the Swift tests compare Rucksack's encoder with them byte for byte.
SAFETENSORS_FILES = {
    "all_dtypes.safetensors": (
        {
            "weight_f32": ("F32", (2, 3)),
            "weight_f64": ("F64", (3, 2)),
            "index_i64": ("I64", (4,)),
            "index_i32": ("I32", (2, 2)),
            "pixels_u8": ("U8", (5,)),
            "mask_bool": ("BOOL", (2, 3)),
            "scalar_f32": ("F32", ()),
            "scalar_i64": ("I64", ()),
            "empty_f64": ("F64", (0, 3)),
            "empty_u8": ("U8", (2, 0)),
        },
        {"source": "make_format_fixtures.py"},
    ),
    "metadata.safetensors": (
        {"x": ("F64", (2, 2))},
        {"framework": "rucksack", "note": "two keys", "empty": ""},
    ),
    "no_metadata.safetensors": (
        {"b": ("F32", (3,)), "a": ("F32", (1, 1, 2))},
        None,
    ),
}

# The .npy fixtures: file name -> (dtype, shape, variant). Variants:
#   "c":       numpy.save of the C-ordered little-endian array
#   "fortran": numpy.save of numpy.asfortranarray(values)
#   "big":     numpy.save of values.astype(big-endian dtype)
#   "v2", "v3": numpy.lib.format.write_array with version (2, 0) or (3, 0)
NPY_FILES = {
    "f32_2x3.npy": ("F32", (2, 3), "c"),
    "f64_3x2.npy": ("F64", (3, 2), "c"),
    "i64_4.npy": ("I64", (4,), "c"),
    "i32_2x2.npy": ("I32", (2, 2), "c"),
    "u8_5.npy": ("U8", (5,), "c"),
    "bool_2x3.npy": ("BOOL", (2, 3), "c"),
    "f32_scalar.npy": ("F32", (), "c"),
    "f64_empty_0x3.npy": ("F64", (0, 3), "c"),
    "f64_fortran_3x4.npy": ("F64", (3, 4), "fortran"),
    "i32_fortran_2x3x2.npy": ("I32", (2, 3, 2), "fortran"),
    "f64_bigendian_2x3.npy": ("F64", (2, 3), "big"),
    "i32_bigendian_5.npy": ("I32", (5,), "big"),
    "f32_v2_3.npy": ("F32", (3,), "v2"),
    "f32_v3_3.npy": ("F32", (3,), "v3"),
}
