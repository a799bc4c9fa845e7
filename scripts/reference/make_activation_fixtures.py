"""PyTorch's activations at extreme inputs, for Rucksack's tests of infinities.

Writes Tests/RucksackTests/Fixtures/activations_at_extremes.safetensors holding, for float32
and float64, the inputs `<dtype>.input` = [-inf, -1e30, -100, 0, 100, 1e30, inf] and, per
activation with its default arguments, the outputs `<dtype>.<name>.value` and the derivatives
`<dtype>.<name>.derivative` (autograd of the sum). Where PyTorch gives NaN, Rucksack gives the
mathematical limit instead; the test names those places.

Run: scripts/reference/.venv/bin/python scripts/reference/make_activation_fixtures.py
"""
import math
import pathlib

import torch
from safetensors.torch import save_file

ACTIVATIONS = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "LogSigmoid", "ELU", "SELU", "Softplus", "GELU", "SiLU"]
INPUTS = [-math.inf, -1e30, -100.0, 0.0, 100.0, 1e30, math.inf]


def main():
    tensors = {}
    for label, dtype in [("float32", torch.float32), ("float64", torch.float64)]:
        tensors[f"{label}.input"] = torch.tensor(INPUTS, dtype=dtype)
        for name in ACTIVATIONS:
            x = torch.tensor(INPUTS, dtype=dtype, requires_grad=True)
            y = getattr(torch.nn, name)()(x)
            y.sum().backward()
            tensors[f"{label}.{name}.value"] = y.detach()
            tensors[f"{label}.{name}.derivative"] = x.grad.detach()
    out = pathlib.Path(__file__).resolve().parents[2] / "Tests/RucksackTests/Fixtures/activations_at_extremes.safetensors"
    save_file(tensors, str(out), metadata={"torch": torch.__version__})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
