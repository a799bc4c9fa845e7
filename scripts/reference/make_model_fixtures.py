#!/usr/bin/env python3
"""Writes the model fixtures: small seeded problems with PyTorch's loss and gradient.

Usage (from the repository root):
    scripts/reference/setup_venv.sh
    scripts/reference/.venv/bin/python scripts/reference/make_model_fixtures.py

For every problem a folder Tests/RucksackCLITests/Fixtures/models/<problem>/ gets
  model.json                   the model (Docs/model-format.md), written by export_model.py
  weights.safetensors          its state dict (float32; BatchNorm's num_batches_tracked int64)
  batch.safetensors            "input" (float32) and "target" (int64 class indices for
                               cross-entropy, float32 for mse and bce-with-logits)
  problem.json                 {"loss": ..., "reduction": ...}: the arguments of `rucksack compute`
  expected.safetensors         "loss" (0-d) and "<parameter>.grad", float32, from PyTorch in float32
  expected_float64.safetensors the same keys, from the model, input and target cast to float64
The model is evaluated in eval mode (Dropout is the identity, BatchNorm uses running statistics).
These are what `rucksack compute --model model.json --weights weights.safetensors
--batch batch.safetensors --loss <loss> --reduction <reduction> --quantities loss,grad
--output results.safetensors` should write.

Afterwards check_model_fixtures.py rebuilds every model from its files and recomputes them.
"""

from __future__ import annotations

import copy
import json
import warnings
import pathlib
import shutil
import sys
from dataclasses import dataclass
from typing import Callable

import torch
from safetensors.torch import save_file
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from export_model import SumOfBranches, export_model  # noqa: E402

from backpack.custom_module.branching import Parallel  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "RucksackCLITests" / "Fixtures" / "models"

LOSSES = {
    "cross-entropy": nn.CrossEntropyLoss,
    "mse": nn.MSELoss,
    "bce-with-logits": nn.BCEWithLogitsLoss,
}

# Inputs to a kink (ReLU, LeakyReLU, ELU, SELU at 0; Softplus at beta*x = threshold) and the two
# largest values of a max-pool window must be at least this far apart, so that rounding
# differences between implementations cannot pick a different branch.
MARGIN = 1e-4


@dataclass
class Problem:
    name: str
    loss: str
    reduction: str
    build: Callable[[], nn.Sequential]
    input_shape: tuple
    output_classes: int | None = None  # cross-entropy: number of classes (target = indices)
    soft_targets: bool = False  # bce-with-logits: probabilities instead of 0/1
    subsampling: list[int] | None = None  # BackPACK fixtures: sample indices for batch_grad etc.
    omit_defaults: bool = False


# ----------------------------------------------------------------------------------------------
# The problems


def mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(6, 8), nn.Tanh(),
        nn.Linear(8, 8), nn.ReLU(),
        nn.Linear(8, 8, bias=False), nn.Sigmoid(),
        nn.Linear(8, 8), nn.LogSigmoid(),
        nn.Linear(8, 8), nn.ELU(alpha=0.7),
        nn.Dropout(p=0.3),
        nn.Linear(8, 8), nn.SELU(),
        nn.Linear(8, 8), nn.Softplus(beta=1.5, threshold=1.0),
        nn.Linear(8, 8), nn.GELU(),
        nn.Linear(8, 8), nn.SiLU(),
        nn.Identity(),
        nn.Linear(8, 8), nn.LeakyReLU(negative_slope=0.2),
        nn.Dropout(),
        nn.Linear(8, 5),
    )


def linear_extra_axes() -> nn.Sequential:
    # input [N, 2, 3, 5]
    return nn.Sequential(
        nn.Linear(5, 4),                       # [N, 2, 3, 4]
        nn.Tanh(),
        nn.Flatten(start_dim=1, end_dim=-2),   # [N, 6, 4]
        nn.Linear(4, 3, bias=False),           # [N, 6, 3]
        nn.Flatten(),                          # [N, 18]
        nn.Linear(18, 6),
    )


def cnn2d_conv() -> nn.Sequential:
    # input [N, 2, 8, 8]
    return nn.Sequential(
        nn.Conv2d(2, 4, kernel_size=3, padding=1),                              # [N, 4, 8, 8]
        nn.Tanh(),
        nn.Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                  groups=2, bias=False),                                        # [N, 6, 4, 6]
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.Conv2d(6, 4, kernel_size=(2, 4), padding="same"),                    # [N, 4, 4, 6]
        nn.SiLU(),
        nn.Conv2d(4, 4, kernel_size=3, padding="same", dilation=2, groups=2),   # [N, 4, 4, 6]
        nn.Tanh(),
        nn.Conv2d(4, 4, kernel_size=(3, 2), stride=(1, 2), padding="valid"),    # [N, 4, 2, 3]
        nn.Flatten(start_dim=2),                                                # [N, 4, 6]
        nn.Linear(6, 3),                                                        # [N, 4, 3]
        nn.Tanh(),
        nn.Flatten(),                                                           # [N, 12]
        nn.Linear(12, 4),
    )


def cnn2d_pool() -> nn.Sequential:
    # input [N, 2, 8, 7]
    return nn.Sequential(
        nn.Conv2d(2, 3, kernel_size=3, padding=1),                          # [N, 3, 8, 7]
        # H: ceil((8 + 2 - 3) / 2) + 1 = 5; W: ceil((7 + 2 - 3) / 2) + 1 = 4
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True),   # [N, 3, 5, 4]
        nn.Conv2d(3, 3, kernel_size=1),  # overlapping windows repeat values; mixing channels breaks the ties
        # H: ceil((5 + 2 - 2) / 2) + 1 = 4, but the last window would start in the right
        # padding (3 * 2 >= 5 + 1), so it is dropped: 3. W: ceil((4 + 2 - 2) / 2) + 1 = 3.
        nn.MaxPool2d(kernel_size=2, stride=2, padding=1, ceil_mode=True),   # [N, 3, 3, 3]
        nn.Conv2d(3, 3, kernel_size=1),
        nn.MaxPool2d(kernel_size=(2, 1), stride=1, dilation=(2, 1), padding=(1, 0)),  # [N, 3, 3, 3]
        nn.ZeroPad2d([1, 0, 2, 1]),                                         # [N, 3, 6, 4]
        nn.Conv2d(3, 4, kernel_size=(1, 2), padding=(1, 1)),                # [N, 4, 8, 5]
        # H: ceil((8 + 2 - 3) / 2) + 1 = 5: the last window [7, 10) covers one real row, the
        # right padding row and one row beyond it; count_include_pad=True divides by 2 there.
        nn.AvgPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True),  # [N, 4, 5, 3]
        nn.ConstantPad2d((0, 2, 1, 0), 0.25),                               # [N, 4, 6, 5]
        nn.AvgPool2d(kernel_size=(2, 3), stride=(2, 1), padding=1, ceil_mode=True,
                     count_include_pad=False),                              # [N, 4, 4, 5]
        nn.AvgPool2d(kernel_size=2, stride=1),                              # [N, 4, 3, 4]
        nn.Conv2d(4, 4, kernel_size=(3, 2), padding=(2, 2)),                # [N, 4, 5, 7]
        nn.AdaptiveAvgPool2d((3, 2)),                                       # 5 -> 3 and 7 -> 2 do not divide
        nn.Tanh(),
        nn.ZeroPad2d(1),                                                    # [N, 4, 5, 4]
        nn.AdaptiveAvgPool2d((5, 2)),                                       # 5 -> 5 and 4 -> 2 divide
        nn.Flatten(),
        nn.Linear(40, 3),
    )


def cnn2d_transpose() -> nn.Sequential:
    # input [N, 4, 3, 3]
    return nn.Sequential(
        # (3 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1 = 6
        nn.ConvTranspose2d(4, 4, kernel_size=3, stride=2, padding=1, output_padding=1, groups=2),  # [N, 4, 6, 6]
        nn.BatchNorm2d(4, affine=False, eps=1e-3, momentum=0.2),
        nn.ELU(),
        # H: (6 - 1) * 1 - 2 * 1 + 2 * (2 - 1) + 1 + 1 = 7 (output_padding < dilation)
        # W: (6 - 1) * 1 - 2 * 2 + 1 * (3 - 1) + 0 + 1 = 4
        nn.ConvTranspose2d(4, 2, kernel_size=(2, 3), stride=1, padding=(1, 2), output_padding=(1, 0),
                           dilation=(2, 1), bias=False),                    # [N, 2, 7, 4]
        nn.Tanh(),
        # H: (7 - 1) * 1 + 1 = 7; W: (4 - 1) * 2 - 2 * 1 + (2 - 1) + 1 = 6
        nn.ConvTranspose2d(2, 2, kernel_size=(1, 2), stride=(1, 2), padding=(0, 1)),  # [N, 2, 7, 6]
        nn.Flatten(),
        nn.Linear(84, 3),
    )


def cnn1d() -> nn.Sequential:
    # input [N, 2, 8]
    return nn.Sequential(
        nn.Conv1d(2, 4, kernel_size=3, padding=2, dilation=2),              # [N, 4, 8]
        nn.BatchNorm1d(4),
        nn.Tanh(),
        nn.MaxPool1d(kernel_size=3, stride=2, padding=1, ceil_mode=True),   # [N, 4, 5]
        nn.ConstantPad1d((2, 1), -0.5),                                     # [N, 4, 8]
        # ceil((8 + 2 - 3) / 2) + 1 = 5; the last window covers one real value, the padding
        # and one position beyond it: divisor 2
        nn.AvgPool1d(kernel_size=3, stride=2, padding=1, ceil_mode=True),   # [N, 4, 5]
        nn.Conv1d(4, 4, kernel_size=2, padding="same", groups=4),           # [N, 4, 5]
        nn.ConvTranspose1d(4, 3, kernel_size=3, stride=2, padding=1, output_padding=1),  # [N, 3, 10]
        nn.Softplus(),
        nn.MaxPool1d(kernel_size=2, stride=1, dilation=3),                  # [N, 3, 7]
        nn.ConstantPad1d(1, 0.5),                                           # [N, 3, 9]
        # ceil((9 + 2 - 2) / 2) + 1 = 6, but the last window would start in the right padding
        # (5 * 2 >= 9 + 1), so it is dropped: 5
        nn.AvgPool1d(kernel_size=2, padding=1, ceil_mode=True, count_include_pad=False),  # [N, 3, 5]
        nn.Conv1d(3, 3, kernel_size=2, stride=2, bias=False),               # [N, 3, 2]
        nn.BatchNorm1d(3, affine=False),
        nn.ConvTranspose1d(3, 2, kernel_size=2, dilation=2, groups=1, bias=False),  # [N, 2, 4]
        nn.AdaptiveAvgPool1d(3),                                            # 4 -> 3: bins [0, 2), [1, 3), [2, 4)
        nn.Flatten(),
        nn.Linear(6, 3),
    )


def cnn3d() -> nn.Sequential:
    # input [N, 2, 4, 4, 5]
    return nn.Sequential(
        nn.Conv3d(2, 4, kernel_size=(2, 3, 3), stride=(1, 1, 2), padding=(0, 1, 1)),  # [N, 4, 3, 4, 3]
        nn.BatchNorm3d(4),
        nn.Sigmoid(),
        nn.MaxPool3d(kernel_size=2, stride=(1, 2, 2), padding=(1, 0, 1), dilation=(2, 1, 1),
                     ceil_mode=True),                                       # [N, 4, 3, 2, 2]
        nn.ConstantPad3d((1, 0, 0, 1, 1, 1), 0.5),                          # [N, 4, 5, 3, 3]
        nn.Conv3d(4, 4, kernel_size=(1, 2, 2), padding="same", groups=4, dilation=(1, 1, 2)),
        nn.AvgPool3d(kernel_size=2, stride=2, padding=1, ceil_mode=True, count_include_pad=False),  # [N, 4, 3, 2, 2]
        nn.AvgPool3d(kernel_size=(2, 1, 2), stride=1, padding=(1, 0, 0)),   # [N, 4, 4, 2, 1]
        nn.ConvTranspose3d(4, 2, kernel_size=2, stride=(1, 2, 2), output_padding=(0, 1, 0),
                           groups=2),                                       # [N, 2, 5, 5, 2]
        nn.GELU(),
        nn.ConvTranspose3d(2, 2, kernel_size=(1, 2, 1), padding=(0, 1, 0), dilation=(1, 2, 1),
                           bias=False),                                     # [N, 2, 5, 5, 2]
        nn.AdaptiveAvgPool3d((2, 3, 1)),                                    # 5 -> 2, 5 -> 3, 2 -> 1
        nn.Flatten(start_dim=2, end_dim=3),                                 # [N, 2, 6, 1]
        nn.Flatten(),
        nn.Linear(12, 3),
    )


def cross_entropy_extra_axes() -> nn.Sequential:
    # input [N, 2, 4, 5] -> output [N, 3, 4, 5], target [N, 4, 5]
    return nn.Sequential(
        nn.Conv2d(2, 4, kernel_size=3, padding=1),
        nn.Tanh(),
        nn.Conv2d(4, 3, kernel_size=1),
    )


def _basic_block(channels_in: int, channels_out: int, stride: int) -> nn.Module:
    residual = nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(),
        nn.Conv2d(channels_out, channels_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
    )
    if stride == 1 and channels_in == channels_out:
        shortcut = nn.Identity()
    else:
        shortcut = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(channels_out),
        )
    return Parallel(residual, shortcut)  # BackPACK's Parallel: output = residual(x) + shortcut(x)


def resnet() -> nn.Sequential:
    # input [N, 3, 8, 8]
    return nn.Sequential(
        nn.Conv2d(3, 4, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        _basic_block(4, 4, stride=1),
        nn.ReLU(),
        _basic_block(4, 6, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 5),
    )


def parallel_nested() -> nn.Sequential:
    # input [N, 4]; SumOfBranches with three branches, one of them a nested SumOfBranches
    return nn.Sequential(
        nn.Linear(4, 5),
        SumOfBranches(
            nn.Linear(5, 5),
            nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 5, bias=False)),
            SumOfBranches(nn.Identity(), nn.Sequential(nn.Sigmoid(), nn.Linear(5, 5))),
        ),
        nn.Sequential(nn.Tanh(), nn.Sequential(nn.Linear(5, 2))),
    )


def bce_sum() -> nn.Sequential:
    return nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4, eps=1e-4), nn.Tanh(), nn.Linear(4, 1))


def bce_mean() -> nn.Sequential:
    return nn.Sequential(nn.Linear(5, 3), nn.Sigmoid(), nn.Linear(3, 1))


PROBLEMS = [
    Problem("mlp", "cross-entropy", "mean", mlp, (4, 6), output_classes=5, omit_defaults=True),
    Problem("linear_extra_axes", "mse", "sum", linear_extra_axes, (3, 2, 3, 5)),
    Problem("cnn2d_conv", "cross-entropy", "sum", cnn2d_conv, (3, 2, 8, 8), output_classes=4),
    Problem("cnn2d_pool", "cross-entropy", "sum", cnn2d_pool, (3, 2, 8, 7), output_classes=3),
    Problem("cnn2d_transpose", "cross-entropy", "sum", cnn2d_transpose, (3, 4, 3, 3), output_classes=3),
    Problem("cnn1d", "mse", "mean", cnn1d, (4, 2, 8), omit_defaults=True),
    Problem("cnn3d", "bce-with-logits", "sum", cnn3d, (3, 2, 4, 4, 5), soft_targets=True),
    Problem("cross_entropy_extra_axes", "cross-entropy", "mean", cross_entropy_extra_axes, (3, 2, 4, 5),
            output_classes=3),
    Problem("resnet", "cross-entropy", "mean", resnet, (4, 3, 8, 8), output_classes=5),
    Problem("parallel_nested", "mse", "mean", parallel_nested, (3, 4), omit_defaults=True),
    Problem("bce_sum", "bce-with-logits", "sum", bce_sum, (4, 5)),
    Problem("bce_mean", "bce-with-logits", "mean", bce_mean, (4, 5), omit_defaults=True),
]


# ----------------------------------------------------------------------------------------------
# Random values


def randomize(model: nn.Module, generator: torch.Generator) -> None:
    """Seeded non-default values for every parameter and BatchNorm buffer."""
    def normal(tensor: torch.Tensor, std: float, mean: float = 0.0) -> torch.Tensor:
        return torch.randn(tensor.shape, generator=generator) * std + mean

    def uniform(tensor: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return torch.rand(tensor.shape, generator=generator) * (high - low) + low

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                if module.affine:
                    module.weight.copy_(uniform(module.weight, 0.5, 1.5))
                    module.bias.copy_(normal(module.bias, 0.5))
                if module.track_running_stats:
                    module.running_mean.copy_(normal(module.running_mean, 0.5))
                    module.running_var.copy_(uniform(module.running_var, 0.3, 2.0))
                    module.num_batches_tracked.fill_(int(torch.randint(1, 1000, (), generator=generator)))
            elif isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
                fan_in = module.weight[0].numel() if isinstance(module, nn.Linear) or not module.transposed \
                    else module.weight.shape[0] // module.groups * module.weight[0, 0].numel()
                module.weight.copy_(normal(module.weight, 1.2 / fan_in ** 0.5))
                if module.bias is not None:
                    module.bias.copy_(normal(module.bias, 0.5))


def make_batch(problem: Problem, model: nn.Module, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = torch.randn(problem.input_shape, generator=generator)
    with torch.no_grad():
        output_shape = model(inputs).shape
    if problem.loss == "cross-entropy":
        target_shape = (output_shape[0],) + tuple(output_shape[2:])
        assert output_shape[1] == problem.output_classes, (problem.name, output_shape)
        target = torch.randint(0, problem.output_classes, target_shape, generator=generator, dtype=torch.int64)
    elif problem.loss == "mse":
        target = torch.randn(output_shape, generator=generator)
    elif problem.soft_targets:
        target = torch.rand(output_shape, generator=generator)
    else:
        target = torch.randint(0, 2, output_shape, generator=generator).to(torch.float32)
    return inputs, target


# ----------------------------------------------------------------------------------------------
# Safety margins


class MarginError(AssertionError):
    pass


def check_margins(model: nn.Module, inputs: torch.Tensor) -> dict[str, int]:
    """Raises MarginError when a kink input or a max-pool window is within MARGIN of a tie.

    Returns how many Softplus inputs fell on each side of the threshold (both must occur).
    """
    counts = {"softplus_linear": 0, "softplus_log": 0}

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        x = args[0].detach().double()
        if isinstance(module, (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU)):
            if x.abs().min() < MARGIN:
                raise MarginError(f"{type(module).__name__} input {x.abs().min():.2e} from 0")
        elif isinstance(module, nn.Softplus):
            distance = module.beta * x - module.threshold
            if distance.abs().min() < MARGIN:
                raise MarginError(f"Softplus input {distance.abs().min():.2e} from the threshold")
            counts["softplus_linear"] += int((distance > 0).sum())
            counts["softplus_log"] += int((distance < 0).sum())
        elif isinstance(module, nn.modules.pooling._MaxPoolNd):
            pool = getattr(torch.nn.functional, f"max_pool{x.dim() - 2}d")
            options = dict(kernel_size=module.kernel_size, stride=module.stride, padding=module.padding,
                           dilation=module.dilation, ceil_mode=module.ceil_mode, return_indices=True)
            _, indices = pool(x, **options)
            generator = torch.Generator().manual_seed(0)
            for _ in range(8):
                noise = (torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1) * MARGIN / 2
                _, perturbed = pool(x + noise, **options)
                if not torch.equal(indices, perturbed):
                    raise MarginError(f"{type(module).__name__}: a window has two values within the margin")

    handles = [module.register_forward_hook(hook) for module in model.modules()
               if isinstance(module, (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.Softplus,
                                      nn.modules.pooling._MaxPoolNd))]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return counts


# ----------------------------------------------------------------------------------------------
# Expectations


def expectations(model: nn.Module, names: dict[str, str], inputs: torch.Tensor, target: torch.Tensor,
                 loss: str, reduction: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    model = copy.deepcopy(model).to(dtype).eval()
    inputs = inputs.to(dtype)
    if target.is_floating_point():
        target = target.to(dtype)
    parameters = dict(model.named_parameters())
    value = LOSSES[loss](reduction=reduction)(model(inputs), target)
    gradients = torch.autograd.grad(value, list(parameters.values()))
    result = {"loss": value.detach().clone()}
    for (name, _), gradient in zip(parameters.items(), gradients):
        result[f"{names[name]}.grad"] = gradient.detach().clone().contiguous()
    return result


def write_problem(problem: Problem, seed: int) -> None:
    for attempt in range(100):
        torch.manual_seed(seed * 1000 + attempt)  # only the (unused) default initialization draws from it
        generator = torch.Generator().manual_seed(seed * 1000 + attempt)
        model = problem.build()
        randomize(model, generator)
        model.eval()
        inputs, target = make_batch(problem, model, generator)
        try:
            counts = check_margins(model, inputs)
        except MarginError as error:
            print(f"  {problem.name}: attempt {attempt}: {error}; trying another seed")
            continue
        if any(isinstance(module, nn.Softplus) and module.threshold < 20 for module in model.modules()):
            if not (counts["softplus_linear"] and counts["softplus_log"]):
                print(f"  {problem.name}: attempt {attempt}: Softplus misses a branch {counts}")
                continue
        break
    else:
        raise RuntimeError(f"{problem.name}: no seed passed the margin checks")

    folder = OUT / problem.name
    if folder.exists():
        shutil.rmtree(folder)
    names = export_model(model, folder, omit_defaults=problem.omit_defaults)
    save_file({"input": inputs.contiguous(), "target": target.contiguous()}, str(folder / "batch.safetensors"))
    for dtype, file in ((torch.float32, "expected.safetensors"), (torch.float64, "expected_float64.safetensors")):
        save_file(expectations(model, names, inputs, target, problem.loss, problem.reduction, dtype),
                  str(folder / file))
    (folder / "problem.json").write_text(json.dumps({"loss": problem.loss, "reduction": problem.reduction}) + "\n")
    for path in folder.iterdir():
        path.chmod(0o644)  # the safetensors writer creates files private to the user


def main() -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, problem in enumerate(PROBLEMS, start=1):
        write_problem(problem, seed)
    total = sum(path.stat().st_size for path in OUT.rglob("*") if path.is_file())
    print(f"wrote {len(PROBLEMS)} problems ({total} bytes) to {OUT}")

    from check_model_fixtures import check_all
    if not check_all(OUT):
        sys.exit(1)


if __name__ == "__main__":
    main()
