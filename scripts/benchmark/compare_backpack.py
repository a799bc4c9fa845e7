"""Times BackPACK and Rucksack side by side on the same problems, on this machine, in one run.

For each problem the model is exported with scripts/reference/export_model.py, a random batch
is saved, and both libraries compute one forward and backward pass per configuration: the
gradient alone, the gradient with each first-order quantity, and everything together. BackPACK
runs in-process (torch, CPU, `--threads` threads); Rucksack runs as
`rucksack bench quantities` (release build) with RUCKSACK_THREADS set to the same number.
`batch_dot` has no BackPACK extension: it is timed as BatchGrad followed by G Gᵀ.

Usage (from the repository root, after scripts/reference/setup_venv.sh and
`swift build -c release --product rucksack`):

    scripts/reference/.venv/bin/python scripts/benchmark/compare_backpack.py [--threads 1] [--repetitions 11]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reference"))
from export_model import export_model  # noqa: E402

from backpack import backpack, extend  # noqa: E402
from backpack.extensions import BatchGrad, BatchL2Grad, SumGradSquared, Variance  # noqa: E402

warnings.filterwarnings("ignore", message=".*Full backward hook.*")


def problems():
    """(name, model, input shape, classes): MNIST-sized and CIFAR-sized networks."""
    nn = torch.nn
    yield "mlp 784-512-256-10, N=128", nn.Sequential(
        nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)), (128, 1, 28, 28), 10
    yield "demo CNN on MNIST, N=128", nn.Sequential(
        nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 10)), (128, 1, 28, 28), 10
    yield "3c3d on CIFAR-10 shapes, N=32", nn.Sequential(
        nn.Conv2d(3, 64, 5), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(64, 96, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(96, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Flatten(),
        nn.Linear(128 * 3 * 3, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)), (32, 3, 32, 32), 10


EXTENSIONS = {
    "batch_grad": [BatchGrad],
    "batch_l2": [BatchL2Grad],
    "sum_grad_squared": [SumGradSquared],
    "variance": [Variance],
    "batch_dot": [BatchGrad],
    "all": [BatchGrad, BatchL2Grad, SumGradSquared, Variance],
}


def time_backpack(model, loss_fn, x, y, repetitions):
    model, loss_fn = extend(model), extend(loss_fn)
    results = {}
    for label in ["grad"] + list(EXTENSIONS):
        def one_pass():
            model.zero_grad()
            loss = loss_fn(model(x), y)
            if label == "grad":
                loss.backward()
                return
            with backpack(*[cls() for cls in EXTENSIONS[label]]):
                loss.backward()
            if label in ("batch_dot", "all"):
                for p in model.parameters():
                    g = p.grad_batch.flatten(start_dim=1)
                    _ = g @ g.T
        one_pass()
        times = []
        for _ in range(repetitions):
            start = time.perf_counter()
            one_pass()
            times.append(time.perf_counter() - start)
        results[label] = 1000 * statistics.median(times)
    return results


def time_rucksack(directory, repetitions, threads):
    binary = ROOT / ".build" / "release" / "rucksack"
    if not binary.exists():
        sys.exit("build Rucksack first: swift build -c release --product rucksack")
    env = dict(os.environ, RUCKSACK_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    output = subprocess.run(
        [str(binary), "bench", "quantities", "--model", str(directory / "model.json"), "--weights", str(directory / "weights.safetensors"),
         "--batch", str(directory / "batch.safetensors"), "--repetitions", str(repetitions)],
        check=True, capture_output=True, text=True, env=env).stdout
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return {line["quantity"]: line["median_ms"] for line in lines}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=11)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repetitions} passes; ratio = BackPACK / Rucksack")
    for name, model, shape, classes in problems():
        model.eval()
        x = torch.randn(*shape)
        y = torch.randint(0, classes, (shape[0],))
        with tempfile.TemporaryDirectory() as tmp:
            directory = pathlib.Path(tmp)
            export_model(model, directory)
            save_file({"input": x.contiguous(), "target": y}, str(directory / "batch.safetensors"))
            ours = time_rucksack(directory, args.repetitions, args.threads)
        theirs = time_backpack(model, torch.nn.CrossEntropyLoss(), x, y, args.repetitions)
        print(f"\n{name}")
        print(f"  {'quantity':<18}{'BackPACK ms':>12}{'Rucksack ms':>13}{'ratio':>8}")
        for label in ["grad"] + list(EXTENSIONS):
            print(f"  {label:<18}{theirs[label]:>12.2f}{ours[label]:>13.2f}{theirs[label] / ours[label]:>8.2f}")


if __name__ == "__main__":
    main()
