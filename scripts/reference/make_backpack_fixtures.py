#!/usr/bin/env python3
"""Writes the first-order BackPACK fixtures: small seeded problems with BackPACK's results.

Usage (from the repository root):
    scripts/reference/setup_venv.sh
    scripts/reference/.venv/bin/python scripts/reference/make_backpack_fixtures.py

For every problem a folder Tests/RucksackCLITests/Fixtures/backpack/<problem>/ gets
  model.json, weights.safetensors  the model (Docs/model-format.md), written by export_model.py
  batch.safetensors                "input" (float32), "target" (int64 class indices for
                                   cross-entropy, float32 otherwise)
  problem.json                     {"loss", "reduction", "subsampling" (list or null),
                                    "backpack_defects" (keys where BackPACK 1.7.1 is wrong),
                                    and "backpack_error" where BackPACK raises}
  expected.safetensors             float32: what `rucksack compute ... --quantities
                                   loss,grad,batch_grad,batch_l2,sum_grad_squared,variance,batch_dot
                                   [--subsampling i,j,...] --dtype float32` should write
  expected_float64.safetensors     the same keys, computed in float64 (for a 1e-10 check)
  reference.safetensors            float64, the same keys, computed without BackPACK by a loop of
                                   per-sample autograd backward passes (the brute-force truth)
  backpack_wrong.safetensors       float64, BackPACK's value for each key in backpack_defects
                                   (absent when there are none, or when BackPACK raises)

Keys, for every parameter <p> (exported dotted name): "loss" (0-d), "<p>.grad", "<p>.grad_batch"
([M, *p.shape], M = len(subsampling) or N), "<p>.batch_l2" ([M]), "<p>.sum_grad_squared" and
"<p>.variance" (p.shape, always over the full batch), "<p>.batch_dot" ([M, M], pairwise dot
products of the (sub-sampled) individual gradients).

Conventions (BackPACK's): the individual gradient g_n is the gradient of sample n's share of the
*reduced* loss, so it carries the reduction factor (1 for "sum", 1/R for "mean" with R the loss's
mean normaliser over the whole batch: N*D for mse, N*d1*... for cross-entropy, N for bce), and
sum_n g_n = grad. variance = (1/N) sum_n g_n^2 - ((1/N) sum_n g_n)^2 (biased, normaliser N).
BackPACK's BatchL2Grad has no sub-sampling: its full-batch result is indexed with the
sub-sampling indices. BackPACK has no batch_dot: it is G G^T of BackPACK's grad_batch G
(flattened to [M, -1]).

expected*.safetensors always hold the truth: for a key where BackPACK 1.7.1 disagrees with the
reference (relative difference > 1e-8 in float64) the reference value is written instead, and
BackPACK's value goes to backpack_wrong.safetensors. The script finishes by reloading every
folder (rebuilding the model from model.json with export_model.load_model_json) and checking it.
"""

from __future__ import annotations

import copy
import json
import pathlib
import shutil
import sys
import time
import warnings

import torch
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from export_model import export_model, load_model_json  # noqa: E402
from make_model_fixtures import LOSSES, MarginError, Problem, check_margins, make_batch, randomize  # noqa: E402

from backpack import backpack, extend  # noqa: E402
from backpack.custom_module.branching import Parallel  # noqa: E402
from backpack.extensions import BatchGrad, BatchL2Grad, SumGradSquared, Variance  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "RucksackCLITests" / "Fixtures" / "backpack"

FIRST_ORDER = ("grad_batch", "batch_l2", "sum_grad_squared", "variance", "batch_dot")
DEFECT_THRESHOLD = 1e-8  # BackPACK (float64) vs reference: above this a key is a defect
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}  # expected vs reference (relative)




# ----------------------------------------------------------------------------------------------
# The problems


def mlp() -> nn.Sequential:
    # input [N, 5]
    return nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 3))


def linear_extra_axes() -> nn.Sequential:
    # input [N, 3, 5]
    return nn.Sequential(
        nn.Linear(5, 4),     # [N, 3, 4]: one individual gradient sums over the extra axis
        nn.Flatten(),        # [N, 12]
        nn.Linear(12, 3),
    )


def cnn1d() -> nn.Sequential:
    # input [N, 2, 8]
    return nn.Sequential(
        nn.Conv1d(2, 3, kernel_size=3, stride=2, padding=1),  # [N, 3, 4]
        nn.ReLU(),
        nn.Conv1d(3, 2, kernel_size=2),                       # [N, 2, 3]
        nn.Flatten(),
        nn.Linear(6, 3),
    )


def cnn2d() -> nn.Sequential:
    # input [N, 2, 5, 5]
    return nn.Sequential(
        nn.Conv2d(2, 4, kernel_size=3, padding=1),                   # [N, 4, 5, 5]
        nn.ReLU(),
        nn.Conv2d(4, 4, kernel_size=3, groups=2),                    # [N, 4, 3, 3]
        nn.ReLU(),
        # (3 - 1) * 2 - 2 * 1 + (3 - 1) + 1 = 5; no output_padding (BackPACK fails on it)
        nn.ConvTranspose2d(4, 2, kernel_size=3, stride=2, padding=1),  # [N, 2, 5, 5]
        nn.Flatten(),
        nn.Linear(50, 3),
    )


def _block(channels_in: int, channels_out: int, stride: int) -> nn.Module:
    residual = nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(),
        nn.Conv2d(channels_out, channels_out, kernel_size=3, padding=1),
    )
    if stride == 1 and channels_in == channels_out:
        shortcut = nn.Identity()
    else:
        shortcut = nn.Conv2d(channels_in, channels_out, kernel_size=1, stride=stride)
    return Parallel(residual, shortcut)  # BackPACK's Parallel: residual(x) + shortcut(x)


def resnet() -> nn.Sequential:
    # input [N, 2, 6, 6]
    return nn.Sequential(
        nn.Conv2d(2, 3, kernel_size=3, padding=1, bias=False),  # [N, 3, 6, 6]
        nn.BatchNorm2d(3),
        nn.ReLU(),
        _block(3, 3, stride=1),                                 # Identity shortcut
        nn.ReLU(),
        _block(3, 4, stride=2),                                 # 1x1 conv shortcut, [N, 4, 3, 3]
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def bce() -> nn.Sequential:
    # input [N, 5] -> [N, 1]
    return nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1))


def grouped_convs() -> nn.Sequential:
    # input [N, 3, 6]; BackPACK's BatchL2Grad is wrong for both grouped layers
    return nn.Sequential(
        nn.Conv1d(3, 6, kernel_size=3, groups=3),                         # depthwise-like, [N, 6, 4]
        nn.Tanh(),
        nn.ConvTranspose1d(6, 4, kernel_size=3, stride=2, groups=2),      # (4 - 1) * 2 + 3 = 9, [N, 4, 9]
        nn.Flatten(),
        nn.Linear(36, 3),
    )


def conv_transpose1d_output_padding() -> nn.Sequential:
    # input [N, 2, 4]
    return nn.Sequential(
        # (4 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1 = 8
        nn.ConvTranspose1d(2, 3, kernel_size=3, stride=2, padding=1, output_padding=1),  # [N, 3, 8]
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(24, 2),
    )


PROBLEMS = [
    Problem("mlp", "cross-entropy", "mean", mlp, (4, 5), output_classes=3),
    Problem("mlp_sum_subsampled", "cross-entropy", "sum", mlp, (4, 5), output_classes=3,
            subsampling=[3, 0, 0, 2]),
    Problem("linear_extra_axes", "mse", "mean", linear_extra_axes, (4, 3, 5)),
    Problem("cnn1d", "mse", "sum", cnn1d, (4, 2, 8)),
    Problem("cnn2d", "cross-entropy", "mean", cnn2d, (4, 2, 5, 5), output_classes=3, subsampling=[1, 3, 1]),
    Problem("resnet", "cross-entropy", "sum", resnet, (4, 2, 6, 6), output_classes=3),
    Problem("bce", "bce-with-logits", "mean", bce, (4, 5)),
    Problem("grouped_convs", "cross-entropy", "mean", grouped_convs, (4, 3, 6), output_classes=3,
            subsampling=[2, 0]),
    Problem("conv_transpose1d_output_padding", "mse", "mean", conv_transpose1d_output_padding, (4, 2, 4),
            subsampling=[2, 1]),
]


# ----------------------------------------------------------------------------------------------
# The quantities


def _cast(inputs: torch.Tensor, target: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    return inputs.to(dtype), (target.to(dtype) if target.is_floating_point() else target)


def _from_individual(key: str, individual: torch.Tensor) -> dict[str, torch.Tensor]:
    """batch_l2 and batch_dot of the (sub-sampled) individual gradients [M, *shape]."""
    flat = individual.reshape(individual.shape[0], -1)
    return {f"{key}.batch_l2": (flat * flat).sum(1), f"{key}.batch_dot": flat @ flat.T}


def backpack_quantities(model: nn.Module, names: dict[str, str], inputs: torch.Tensor, target: torch.Tensor,
                        problem: Problem, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The keys from one BackPACK backward pass (raises where BackPACK does)."""
    model = extend(copy.deepcopy(model).to(dtype).eval())
    loss_function = extend(LOSSES[problem.loss](reduction=problem.reduction))
    inputs, target = _cast(inputs, target, dtype)
    value = loss_function(model(inputs), target)
    with backpack(BatchGrad(subsampling=problem.subsampling), BatchL2Grad(), SumGradSquared(), Variance()):
        value.backward()
    result = {"loss": value.detach().clone()}
    for name, parameter in model.named_parameters():
        key = names[name]
        batch_l2 = parameter.batch_l2
        if problem.subsampling is not None:
            batch_l2 = batch_l2[problem.subsampling]
        flat = parameter.grad_batch.reshape(parameter.grad_batch.shape[0], -1)
        result.update({
            f"{key}.grad": parameter.grad,
            f"{key}.grad_batch": parameter.grad_batch,
            f"{key}.batch_l2": batch_l2,
            f"{key}.sum_grad_squared": parameter.sum_grad_squared,
            f"{key}.variance": parameter.variance,
            f"{key}.batch_dot": flat @ flat.T,
        })
    return {key: tensor.detach().clone().contiguous() for key, tensor in result.items()}


def autograd_loss_and_grad(model: nn.Module, names: dict[str, str], inputs: torch.Tensor, target: torch.Tensor,
                           problem: Problem, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """loss and grad from plain autograd (where BackPACK raises)."""
    model = copy.deepcopy(model).to(dtype).eval()
    inputs, target = _cast(inputs, target, dtype)
    parameters = dict(model.named_parameters())
    value = LOSSES[problem.loss](reduction=problem.reduction)(model(inputs), target)
    gradients = torch.autograd.grad(value, list(parameters.values()))
    result = {"loss": value.detach().clone()}
    result.update({f"{names[name]}.grad": gradient.contiguous() for name, gradient in zip(parameters, gradients)})
    return result


def reference_quantities(model: nn.Module, names: dict[str, str] | None, inputs: torch.Tensor,
                         target: torch.Tensor, loss: str, reduction: str,
                         subsampling: list[int] | None) -> dict[str, torch.Tensor]:
    """The keys in float64 without BackPACK: one autograd backward pass per sample.

    Sample n's contribution is the reduced loss restricted to sample n: the sum of its entries of
    the unreduced loss, times 1 ("sum") or 1 / (number of entries of the unreduced loss over the
    whole batch) ("mean"; N*D for mse, N*d1*... for cross-entropy, N for bce on [N, 1]).
    """
    model = copy.deepcopy(model).double().eval()
    inputs, target = _cast(inputs, target, torch.float64)
    parameters = dict(model.named_parameters())
    output = model(inputs)
    unreduced = LOSSES[loss](reduction="none")(output, target)
    reduced = LOSSES[loss](reduction=reduction)(output, target)
    factor = 1.0 if reduction == "sum" else 1.0 / unreduced.numel()
    count = inputs.shape[0]
    individual: dict[str, list[torch.Tensor]] = {name: [] for name in parameters}
    for n in range(count):
        share = unreduced[n].sum() * factor
        gradients = torch.autograd.grad(share, list(parameters.values()), retain_graph=True)
        for name, gradient in zip(parameters, gradients):
            individual[name].append(gradient)
    full_gradients = torch.autograd.grad(reduced, list(parameters.values()))
    result = {"loss": reduced.detach().clone()}
    indices = list(range(count)) if subsampling is None else subsampling
    for (name, stacked), full in zip(((name, torch.stack(grads)) for name, grads in individual.items()),
                                     full_gradients):
        key = names[name] if names is not None else name
        grad = stacked.sum(0)
        # the per-sample shares must add up to the gradient of the reduced loss
        assert _relative(grad, full) < 1e-12, (key, _relative(grad, full))
        chosen = stacked[indices]
        result.update({
            f"{key}.grad": grad,
            f"{key}.grad_batch": chosen,
            f"{key}.sum_grad_squared": (stacked * stacked).sum(0),
            f"{key}.variance": torch.var(stacked, dim=0, unbiased=False),
        })
        result.update(_from_individual(key, chosen))
    return {key: tensor.detach().clone().contiguous() for key, tensor in result.items()}


def _relative(value: torch.Tensor, reference: torch.Tensor) -> float:
    """max |value - reference| / max |reference| (absolute where the reference is all zero)."""
    value, reference = value.double(), reference.double()
    if value.shape != reference.shape:
        return float("inf")
    if reference.numel() == 0:
        return 0.0
    difference = (value - reference).abs().max().item()
    scale = reference.abs().max().item()
    return difference / scale if scale > 0 else difference


# ----------------------------------------------------------------------------------------------
# Writing


def _draw(problem: Problem, seed: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    for attempt in range(100):
        torch.manual_seed(seed * 1000 + attempt)  # only the (unused) default initialization draws from it
        generator = torch.Generator().manual_seed(seed * 1000 + attempt)
        model = problem.build()
        randomize(model, generator)
        model.eval()
        inputs, target = make_batch(problem, model, generator)
        try:
            check_margins(model, inputs)
        except MarginError as error:
            print(f"  {problem.name}: attempt {attempt}: {error}; trying another seed")
            continue
        return model, inputs, target
    raise RuntimeError(f"{problem.name}: no seed passed the margin checks")


def write_problem(problem: Problem, seed: int) -> dict:
    model, inputs, target = _draw(problem, seed)
    folder = OUT / problem.name
    if folder.exists():
        shutil.rmtree(folder)
    names = export_model(model, folder, omit_defaults=problem.omit_defaults)
    save_file({"input": inputs.contiguous(), "target": target.contiguous()}, str(folder / "batch.safetensors"))

    reference = reference_quantities(model, names, inputs, target, problem.loss, problem.reduction,
                                     problem.subsampling)
    description: dict = {"loss": problem.loss, "reduction": problem.reduction, "subsampling": problem.subsampling}
    defects: dict[str, float] = {}
    wrong: dict[str, torch.Tensor] = {}
    try:
        computed = {dtype: backpack_quantities(model, names, inputs, target, problem, dtype)
                    for dtype in (torch.float32, torch.float64)}
    except Exception as error:  # BackPACK raises: every first-order key is a defect
        message = f"{type(error).__name__}: {error}"
        description["backpack_error"] = message
        computed = {dtype: autograd_loss_and_grad(model, names, inputs, target, problem, dtype)
                    for dtype in (torch.float32, torch.float64)}
        for key in reference:
            if key.rsplit(".", 1)[-1] in FIRST_ORDER:
                defects[key] = float("nan")
    else:
        assert set(computed[torch.float64]) == set(reference), \
            sorted(set(computed[torch.float64]) ^ set(reference))
        for key, value in computed[torch.float64].items():
            error = _relative(value, reference[key])
            if error > DEFECT_THRESHOLD:
                defects[key] = error
                wrong[key] = value
            else:
                assert error <= TOLERANCE[torch.float64], (problem.name, key, error)
    description["backpack_defects"] = sorted(defects)

    for dtype, file in ((torch.float32, "expected.safetensors"), (torch.float64, "expected_float64.safetensors")):
        expected = {key: (reference[key] if key in defects else computed[dtype][key]).to(dtype).contiguous()
                    for key in reference}
        save_file(expected, str(folder / file))
    save_file(reference, str(folder / "reference.safetensors"))
    if wrong:
        save_file(wrong, str(folder / "backpack_wrong.safetensors"))
    (folder / "problem.json").write_text(json.dumps(description) + "\n")
    for path in folder.iterdir():
        path.chmod(0o644)  # the safetensors writer creates files private to the user
    return {"defects": defects, "error": description.get("backpack_error")}


# ----------------------------------------------------------------------------------------------
# Checking the written files


def check_folder(folder: pathlib.Path) -> list[str]:
    """Reloads a folder and checks it; returns the failures."""
    failures = []
    description = json.loads((folder / "problem.json").read_text())
    defects = set(description["backpack_defects"])
    model = load_model_json(folder / "model.json", folder / "weights.safetensors")
    batch = load_file(str(folder / "batch.safetensors"))
    assert batch["input"].dtype == torch.float32
    assert batch["target"].dtype == (torch.int64 if description["loss"] == "cross-entropy" else torch.float32)
    reference = load_file(str(folder / "reference.safetensors"))
    recomputed = reference_quantities(model, None, batch["input"], batch["target"], description["loss"],
                                      description["reduction"], description["subsampling"])
    files = {"expected.safetensors": torch.float32, "expected_float64.safetensors": torch.float64}
    loaded = {file: load_file(str(folder / file)) for file in files}
    wanted = set(recomputed)
    for name, tensors in [("reference.safetensors", reference)] + list(loaded.items()):
        if set(tensors) != wanted:
            failures.append(f"{name}: keys differ: {sorted(set(tensors) ^ wanted)}")
    if failures:
        return failures
    for key, value in recomputed.items():
        if reference[key].dtype != torch.float64 or _relative(reference[key], value) > 1e-12:
            failures.append(f"reference.safetensors {key}: does not match the recomputation")
        for file, dtype in files.items():
            tensor = loaded[file][key]
            tolerance = 1e-5 if dtype == torch.float32 else (1e-15 if key in defects else TOLERANCE[dtype])
            if tensor.dtype != dtype:
                failures.append(f"{file} {key}: dtype {tensor.dtype}")
            elif _relative(tensor, reference[key]) > tolerance:
                failures.append(f"{file} {key}: {_relative(tensor, reference[key]):.2e} from the reference")
    wrong_path = folder / "backpack_wrong.safetensors"
    if "backpack_error" in description:
        if wrong_path.exists():
            failures.append("backpack_wrong.safetensors next to backpack_error")
    elif defects:
        wrong = load_file(str(wrong_path))
        if set(wrong) != defects:
            failures.append(f"backpack_wrong.safetensors keys {sorted(wrong)} != defects {sorted(defects)}")
        for key, tensor in wrong.items():
            if _relative(tensor, reference[key]) <= DEFECT_THRESHOLD:
                failures.append(f"backpack_wrong.safetensors {key}: agrees with the reference")
    elif wrong_path.exists():
        failures.append("backpack_wrong.safetensors without defects")
    return failures


def check_all(root: pathlib.Path = OUT) -> bool:
    ok = True
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        failures = check_folder(folder)
        for failure in failures:
            print(f"FAIL {folder.name}: {failure}")
        ok = ok and not failures
    print("all BackPACK fixtures check out" if ok else "BackPACK fixture check FAILED")
    return ok


def main() -> None:
    start = time.time()
    torch.set_num_threads(1)
    # BackPACK's hook on the first layer fires although the input does not require a gradient
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    for seed, problem in enumerate(PROBLEMS, start=101):
        report = write_problem(problem, seed)
        if report["error"]:
            print(f"{problem.name}: BackPACK raises {report['error']}")
        for key, error in report["defects"].items():
            if error == error:  # not NaN
                print(f"{problem.name}: BackPACK defect {key}: relative error {error:.3e}")
    total = sum(path.stat().st_size for path in OUT.rglob("*") if path.is_file())
    print(f"wrote {len(PROBLEMS)} problems ({total} bytes) to {OUT} in {time.time() - start:.1f} s")
    if not check_all(OUT):
        sys.exit(1)
    print(f"done in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
