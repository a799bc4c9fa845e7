"""Makes the small MNIST subset that ships with Rucksack for `rucksack demo`.

Takes the first 4000 training and the first 1000 test digits of the original MNIST files
(IDX, gzipped; LeCun, Cortes and Burges) and writes them, still in IDX format and gzipped, to
Sources/RucksackExamples/Resources/mnist-subset/. Only the standard library is needed.

Usage: python3 scripts/make_mnist_subset.py /path/to/mnist
"""
import gzip
import pathlib
import struct
import sys

COUNTS = {"train": 4000, "t10k": 1000}


def subset(source: pathlib.Path, target: pathlib.Path, count: int) -> None:
    data = gzip.decompress(source.read_bytes())
    dims = data[3]
    shape = list(struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims]))
    per_item = 1
    for extent in shape[1:]:
        per_item *= extent
    shape[0] = count
    header = data[:4] + struct.pack(">" + "I" * dims, *shape)
    payload = data[4 + 4 * dims:4 + 4 * dims + count * per_item]
    # mtime=0 keeps the bytes reproducible.
    target.write_bytes(gzip.compress(header + payload, compresslevel=9, mtime=0))


def main() -> None:
    source = pathlib.Path(sys.argv[1])
    out = pathlib.Path(__file__).resolve().parents[1] / "Sources/RucksackExamples/Resources/mnist-subset"
    out.mkdir(parents=True, exist_ok=True)
    for split, count in COUNTS.items():
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{split}-{kind}-ubyte.gz"
            subset(source / name, out / name, count)
            print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
