#!/usr/bin/env python3
"""Checks the model fixtures from their files alone.

Usage (from the repository root):
    scripts/reference/.venv/bin/python scripts/reference/check_model_fixtures.py [FOLDER ...]

Without arguments it checks every folder under Tests/RucksackCLITests/Fixtures/models/. For each
folder it rebuilds the torch model from model.json with export_model.load_model_json (an
independent reader: it passes the JSON keys to the torch.nn constructors and turns Parallel into
SumOfBranches), loads weights.safetensors strictly, recomputes the loss and gradients from
batch.safetensors and problem.json in eval mode, in float32 and float64, and compares them with
expected.safetensors and expected_float64.safetensors (same keys, dtypes, shapes; values within
a tight tolerance). Exits with status 1 on any mismatch.
"""

from __future__ import annotations

import json
import pathlib
import sys
import warnings

import torch
from safetensors.torch import load_file
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from export_model import load_model_json  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "RucksackCLITests" / "Fixtures" / "models"
LOSSES = {"cross-entropy": nn.CrossEntropyLoss, "mse": nn.MSELoss, "bce-with-logits": nn.BCEWithLogitsLoss}
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}  # relative to the largest magnitude of the tensor


def recompute(folder: pathlib.Path, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    problem = json.loads((folder / "problem.json").read_text())
    model = load_model_json(folder / "model.json", folder / "weights.safetensors").to(dtype).eval()
    batch = load_file(str(folder / "batch.safetensors"))
    inputs, target = batch["input"], batch["target"]
    assert inputs.dtype == torch.float32
    if problem["loss"] == "cross-entropy":
        assert target.dtype == torch.int64, target.dtype
    else:
        assert target.dtype == torch.float32, target.dtype
        target = target.to(dtype)
    parameters = dict(model.named_parameters())
    loss = LOSSES[problem["loss"]](reduction=problem["reduction"])(model(inputs.to(dtype)), target)
    gradients = torch.autograd.grad(loss, list(parameters.values()))
    result = {"loss": loss.detach()}
    result.update({f"{name}.grad": gradient for name, gradient in zip(parameters, gradients)})
    return result


def check_folder(folder: pathlib.Path) -> list[str]:
    problems = []
    files = {path.name for path in folder.iterdir()}
    wanted = {"model.json", "weights.safetensors", "batch.safetensors", "problem.json",
              "expected.safetensors", "expected_float64.safetensors"}
    if files != wanted:
        return [f"files {sorted(files)} != {sorted(wanted)}"]
    problem = json.loads((folder / "problem.json").read_text())
    if set(problem) != {"loss", "reduction"} or problem["loss"] not in LOSSES \
            or problem["reduction"] not in ("mean", "sum"):
        problems.append(f"problem.json {problem}")
    for dtype, name in ((torch.float32, "expected.safetensors"), (torch.float64, "expected_float64.safetensors")):
        expected = load_file(str(folder / name))
        actual = recompute(folder, dtype)
        if set(expected) != set(actual):
            problems.append(f"{name}: keys {sorted(expected)} != {sorted(actual)}")
            continue
        for key, value in expected.items():
            if value.dtype != dtype or value.shape != actual[key].shape:
                problems.append(f"{name}: {key} is {value.dtype} {tuple(value.shape)}, "
                                f"expected {dtype} {tuple(actual[key].shape)}")
                continue
            scale = max(value.abs().max().item(), 1e-30)
            error = (value - actual[key]).abs().max().item() / scale
            if error > TOLERANCE[dtype]:
                problems.append(f"{name}: {key} differs by {error:.2e} (relative)")
    return problems


def check_all(root: pathlib.Path = FIXTURES, folders: list[pathlib.Path] | None = None) -> bool:
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")
    folders = folders or sorted(path for path in root.iterdir() if path.is_dir())
    ok = True
    for folder in folders:
        problems = check_folder(folder)
        print(f"{'ok  ' if not problems else 'FAIL'} {folder.name}")
        for problem in problems:
            print(f"     {problem}")
        ok = ok and not problems
    return ok


if __name__ == "__main__":
    sys.exit(0 if check_all(folders=[pathlib.Path(arg) for arg in sys.argv[1:]] or None) else 1)
