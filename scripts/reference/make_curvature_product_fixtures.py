#!/usr/bin/env python3
"""Adds BackPACK 1.7.1's exact curvature products to the BackPACK fixtures, in float64.

Usage (from the repository root, after make_backpack_fixtures.py):
    scripts/reference/.venv/bin/python scripts/reference/make_curvature_product_fixtures.py

Every problem of make_backpack_fixtures.py is drawn again from its seed (the batch is checked
against the folder's batch.safetensors). A folder Tests/RucksackCLITests/Fixtures/backpack/<problem>/ gets
  vectors.safetensors             float64, one seeded normal tensor per parameter (exported name),
                                  the vector of `rucksack compute --vectors`
  curvature_products.json         {"computed": [compute names], "refused": {name: BackPACK's error}}
  curvature_products.safetensors  float64, for every computed quantity and parameter <p>:
                                  "<p>.hessian_block", "<p>.ggn_block" ([numel, numel], row-major
                                  flattening: BackPACK's HMP and GGNMP applied to the unit vectors),
                                  "<p>.hvp", "<p>.ggn_vp" (backpack.hessianfree's
                                  hessian_vector_product and ggn_vector_product_from_plist, the
                                  whole-network products with the vector above)
PCHMP is left out: BackPACK 1.7.1 multiplies its residual by the gradient twice (BackPACK spec §3.8).

BackPACK's HMP and GGNMP accept only some layers (no Conv1d, transposed convolutions, adaptive
pooling or BCEWithLogitsLoss), so the problems of CURVATURE_PROBLEMS, networks they accept with
curved activations, strides, padding and max pooling, get folders of their own under
Tests/RucksackCLITests/Fixtures/curvature/<problem>/ with model.json, weights.safetensors,
batch.safetensors and problem.json as make_backpack_fixtures.py writes them, and the files above.
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
from make_model_fixtures import LOSSES, Problem  # noqa: E402
from torch import nn  # noqa: E402

from backpack import backpack, extend  # noqa: E402
from backpack.extensions import GGNMP, HMP  # noqa: E402
from backpack.hessianfree.ggnvp import ggn_vector_product_from_plist  # noqa: E402
from backpack.hessianfree.hvp import hessian_vector_product  # noqa: E402

DTYPE = torch.float64
CURVATURE_OUT = OUT.parent / "curvature"


def cnn_sigmoid_maxpool() -> nn.Sequential:
    # input [N, 2, 6, 6]
    return nn.Sequential(
        nn.Conv2d(2, 3, kernel_size=3, stride=2, padding=1),  # [N, 3, 3, 3]
        nn.Sigmoid(),
        nn.ZeroPad2d((1, 0, 1, 0)),                            # [N, 3, 4, 4]
        nn.MaxPool2d(2),                                       # [N, 3, 2, 2]
        nn.Conv2d(3, 2, kernel_size=2, padding=1),             # [N, 2, 3, 3]
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(18, 4),
    )


def mlp_tanh_mse() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))


CURVATURE_PROBLEMS = [
    Problem("cnn_sigmoid_maxpool", "cross-entropy", "mean", cnn_sigmoid_maxpool, (3, 2, 6, 6), output_classes=4),
    Problem("cnn_sigmoid_maxpool_sum", "cross-entropy", "sum", cnn_sigmoid_maxpool, (3, 2, 6, 6), output_classes=4),
    Problem("mlp_tanh_mse", "mse", "mean", mlp_tanh_mse, (5, 3)),
]


def setup(model, inputs, target, problem):
    model = extend(copy.deepcopy(model).to(DTYPE).eval())
    loss_function = extend(LOSSES[problem.loss](reduction=problem.reduction))
    inputs, target = _cast(inputs, target, DTYPE)
    output = model(inputs)
    return model, output, loss_function(output, target)


def blocks(model, names, inputs, target, problem, extension, field, quantity):
    model, _, loss = setup(model, inputs, target, problem)
    with backpack(extension):
        loss.backward(retain_graph=True)
    result = {}
    for name, parameter in model.named_parameters():
        numel = parameter.numel()
        unit = torch.eye(numel, dtype=DTYPE).reshape(numel, *parameter.shape)
        columns = getattr(parameter, field)(unit).reshape(numel, numel)
        result[f"{names[name]}.{quantity}"] = columns.t().contiguous()
    return result


def products(model, names, inputs, target, problem, vectors):
    model, output, loss = setup(model, inputs, target, problem)
    parameters = [parameter for _, parameter in model.named_parameters()]
    v = [vectors[names[name]] for name, _ in model.named_parameters()]
    hvp = hessian_vector_product(loss, parameters, v)
    ggn = ggn_vector_product_from_plist(loss, output, parameters, v)
    result = {}
    for (name, _), h, g in zip(model.named_parameters(), hvp, ggn):
        result[f"{names[name]}.hvp"] = h.detach().clone().contiguous()
        result[f"{names[name]}.ggn_vp"] = g.detach().clone().contiguous()
    return result


def main() -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    for seed, problem in list(enumerate(PROBLEMS, start=101)) + list(enumerate(CURVATURE_PROBLEMS, start=201)):
        model, inputs, target = _draw(problem, seed)
        if problem in PROBLEMS:
            folder = OUT / problem.name
            stored = load_file(str(folder / "batch.safetensors"))
            assert torch.equal(stored["input"], inputs) and torch.equal(stored["target"], target), problem.name
            with tempfile.TemporaryDirectory() as scratch:
                names = export_model(copy.deepcopy(model), pathlib.Path(scratch) / "model")
        else:
            folder = CURVATURE_OUT / problem.name
            names = export_model(copy.deepcopy(model), folder)
            save_file({"input": inputs.contiguous(), "target": target.contiguous()}, str(folder / "batch.safetensors"))
            (folder / "problem.json").write_text(json.dumps({"loss": problem.loss, "reduction": problem.reduction, "subsampling": None}) + "\n")
        generator = torch.Generator().manual_seed(seed)
        vectors = {names[name]: torch.randn(parameter.shape, generator=generator, dtype=DTYPE)
                   for name, parameter in model.named_parameters()}
        computed, refused, results = [], {}, {}
        jobs = {
            "hessian_block": lambda: blocks(model, names, inputs, target, problem, HMP(), "hmp", "hessian_block"),
            "ggn_block": lambda: blocks(model, names, inputs, target, problem, GGNMP(), "ggnmp", "ggn_block"),
            "hvp,ggn_vp": lambda: products(model, names, inputs, target, problem, vectors),
        }
        for quantity, job in jobs.items():
            try:
                results.update(job())
            except Exception as error:  # BackPACK refuses this model or loss
                message = str(error).splitlines()[0] if str(error) else ""
                for name in quantity.split(","):
                    refused[name] = f"{type(error).__name__}: {message}"
            else:
                computed += quantity.split(",")
        save_file(vectors, str(folder / "vectors.safetensors"))
        save_file(results, str(folder / "curvature_products.safetensors"))
        (folder / "curvature_products.json").write_text(json.dumps({"computed": computed, "refused": refused}, indent=1) + "\n")
        for path in folder.iterdir():
            path.chmod(0o644)
        print(f"{problem.name}: {', '.join(computed)}; refused {', '.join(f'{k} ({v})' for k, v in refused.items())}")


if __name__ == "__main__":
    main()
