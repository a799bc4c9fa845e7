#!/usr/bin/env python3
"""Adds BackPACK 1.7.1's second-order results to the first-order BackPACK fixtures.

Usage (from the repository root, after make_backpack_fixtures.py):
    scripts/reference/.venv/bin/python scripts/reference/make_backpack_second_order_fixtures.py

Every problem of make_backpack_fixtures.py is drawn again from its seed (the batch is checked
against the folder's batch.safetensors), and each second-order extension runs alone, in float32
and in float64. A folder Tests/RucksackCLITests/Fixtures/backpack/<problem>/ gets
  second_order.json               {"computed": {"float32": [names], "float64": [names]},
                                   "refused": {name: {precision: BackPACK's error}}}; BackPACK
                                   1.7.1 fails in float64 on some layers (a float32 tensor made
                                   inside), so the precisions may differ
                                   "backpack_defects": keys where BackPACK is wrong and the
                                   reference (below) is written instead
  second_order.safetensors        float32, for every computed quantity and parameter <p>:
                                  "<p>.<field>" (tensors) or "<p>.<field>.0", ".1", ... (Kronecker
                                  factor lists), as `rucksack compute` writes them
  second_order_float64.safetensors the same in float64

Quantities (BackPACK extension -> compute name): DiagGGNExact -> diag_ggn_exact,
BatchDiagGGNExact -> diag_ggn_exact_batch, DiagHessian -> diag_h, BatchDiagHessian ->
diag_h_batch, SqrtGGNExact(subsampling) -> sqrt_ggn_exact, KFLR -> kflr, KFRA -> kfra. The
input factors A of ungrouped convolutions are checked against a reference made without BackPACK
(the unfolded input as PyTorch's derivative of the convolution w.r.t. its weight). The
Monte Carlo extensions are left out: their draws come from torch's generator, not Rucksack's.
"""

from __future__ import annotations

import copy
import json
import pathlib
import sys
import tempfile
import warnings

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from export_model import export_model  # noqa: E402
from make_backpack_fixtures import OUT, PROBLEMS, _cast, _draw  # noqa: E402
from make_model_fixtures import LOSSES  # noqa: E402

from backpack import backpack, extend  # noqa: E402
from backpack.extensions import (BatchDiagGGNExact, BatchDiagHessian, DiagGGNExact, DiagHessian, KFLR,  # noqa: E402
                                 KFRA, SqrtGGNExact)

EXTENSIONS = {
    "diag_ggn_exact": (lambda problem: DiagGGNExact(), "diag_ggn_exact"),
    "diag_ggn_exact_batch": (lambda problem: BatchDiagGGNExact(), "diag_ggn_exact_batch"),
    "diag_h": (lambda problem: DiagHessian(), "diag_h"),
    "diag_h_batch": (lambda problem: BatchDiagHessian(), "diag_h_batch"),
    "sqrt_ggn_exact": (lambda problem: SqrtGGNExact(subsampling=problem.subsampling), "sqrt_ggn_exact"),
    "kflr": (lambda problem: KFLR(), "kflr"),
    "kfra": (lambda problem: KFRA(), "kfra"),
}


def run(model, names, inputs, target, problem, quantity: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    make, field = EXTENSIONS[quantity]
    model = extend(copy.deepcopy(model).to(dtype).eval())
    loss_function = extend(LOSSES[problem.loss](reduction=problem.reduction))
    inputs, target = _cast(inputs, target, dtype)
    value = loss_function(model(inputs), target)
    with backpack(make(problem)):
        value.backward()
    result = {}
    for name, parameter in model.named_parameters():
        value = getattr(parameter, field)
        if isinstance(value, list):
            for index, factor in enumerate(value):
                result[f"{names[name]}.{quantity}.{index}"] = factor
        else:
            result[f"{names[name]}.{quantity}"] = value
    return {key: tensor.detach().clone().contiguous() for key, tensor in result.items()}


def input_factors(model, names, inputs, dtype) -> dict[str, torch.Tensor]:
    """The reference input factor A = (1/N) sum_n sum_p x_np x_np^T of every ungrouped convolution,
    without BackPACK: the unfolded input x_np is the derivative of output channel 0 at position p
    w.r.t. the weights of that channel (PyTorch's own convolution, output_padding included)."""
    model = copy.deepcopy(model).to(dtype).eval()
    captured = {}
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, i[0].detach()))
             for name, module in model.named_modules() if isinstance(module, torch.nn.modules.conv._ConvNd) and module.groups == 1]
    model(inputs.to(dtype))
    for hook in hooks:
        hook.remove()
    modules = dict(model.named_modules())
    result = {}
    for name, x in captured.items():
        module = modules[name]
        weight = module.weight.detach()
        transposed = isinstance(module, torch.nn.modules.conv._ConvTransposeNd)

        def channel_zero(w, module=module, x=x, weight=weight, transposed=transposed):
            full = weight.clone()
            if transposed:
                full[:, 0] = w
            else:
                full[0] = w
            return torch.func.functional_call(module, {"weight": full}, (x,))[:, 0]

        probe = weight[:, 0] if transposed else weight[0]
        jacobian = torch.autograd.functional.jacobian(channel_zero, probe.clone())  # [N, *positions, *probe]
        n = x.shape[0]
        columns = jacobian.reshape(n, -1, probe.numel())  # [N, P, C_in * K]
        result[f"{names[name + '.weight']}"] = torch.einsum("npa,npb->ab", columns, columns) / n
    return result


def main() -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    for seed, problem in enumerate(PROBLEMS, start=101):
        model, inputs, target = _draw(problem, seed)
        folder = OUT / problem.name
        stored = load_file(str(folder / "batch.safetensors"))
        assert torch.equal(stored["input"], inputs) and torch.equal(stored["target"], target), problem.name
        with tempfile.TemporaryDirectory() as scratch:
            names = export_model(copy.deepcopy(model), pathlib.Path(scratch) / "model")
        computed = {"float32": [], "float64": []}
        refused = {}
        results = {torch.float32: {}, torch.float64: {}}
        for quantity in EXTENSIONS:
            for dtype, label in ((torch.float32, "float32"), (torch.float64, "float64")):
                try:
                    results[dtype].update(run(model, names, inputs, target, problem, quantity, dtype))
                except Exception as error:  # BackPACK refuses this combination (in this precision)
                    message = str(error).splitlines()[0] if str(error) else ""
                    refused.setdefault(quantity, {})[label] = f"{type(error).__name__}: {message}"
                else:
                    computed[label].append(quantity)
        # BackPACK's input factors against the reference; a wrong one (a known BackPACK 1.7.1
        # defect: transposed convolutions unfold without output_padding) is replaced by it.
        defects = {}
        for dtype in results:
            for parameter, factor in input_factors(model, names, inputs, dtype).items():
                for quantity in ("kflr", "kfra"):
                    key = f"{parameter}.{quantity}.1"
                    if key in results[dtype]:
                        error = ((results[dtype][key] - factor).abs().max() / factor.abs().max()).item()
                        if error > (1e-4 if dtype == torch.float32 else 1e-8):
                            defects[key] = error
                            results[dtype][key] = factor.clone().contiguous()
        save_file(results[torch.float32], str(folder / "second_order.safetensors"))
        save_file(results[torch.float64], str(folder / "second_order_float64.safetensors"))
        (folder / "second_order.json").write_text(json.dumps({"computed": computed, "refused": refused, "backpack_defects": sorted(defects)}, indent=1) + "\n")
        for path in folder.iterdir():
            path.chmod(0o644)
        print(f"{problem.name}: float32 {', '.join(computed['float32'])}; float64 {', '.join(computed['float64'])}")


if __name__ == "__main__":
    main()
