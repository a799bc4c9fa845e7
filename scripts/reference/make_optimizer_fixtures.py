"""Trajectories of torch.optim.SGD and Adam on fixed gradients, for Rucksack's optimizer tests.

Writes Tests/RucksackTests/Fixtures/optimizers.safetensors (float64) holding the initial
parameters `initial.weight`/`initial.bias` of a Linear(3, 2), the gradients `step<k>.<name>`
fed at each step, and the parameters after each step, `<optimizer>.step<k>.<name>`, for the
optimizer configurations listed in CONFIGS (their hyper-parameters go into the metadata).

Run: scripts/reference/.venv/bin/python scripts/reference/make_optimizer_fixtures.py
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

STEPS = 3
CONFIGS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_momentum": ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}),
    "sgd_nesterov": ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    "adam": ("Adam", {"lr": 0.01}),
    "adam_decay": ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.05}),
}


def main():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    gradients = [{name: torch.randn_like(p) for name, p in initial.items()} for _ in range(STEPS)]
    tensors = {f"initial.{name}": value for name, value in initial.items()}
    for k, step in enumerate(gradients):
        tensors.update({f"step{k}.{name}": value for name, value in step.items()})
    for label, (kind, options) in CONFIGS.items():
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(initial[name])
        optimizer = getattr(torch.optim, kind)(model.parameters(), **options)
        for k, step in enumerate(gradients):
            for name, p in model.named_parameters():
                p.grad = step[name].clone()
            optimizer.step()
            tensors.update({f"{label}.step{k}.{name}": p.detach().clone() for name, p in model.named_parameters()})
    out = pathlib.Path(__file__).resolve().parents[2] / "Tests/RucksackTests/Fixtures/optimizers.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {label: json.dumps({"type": kind, **options}) for label, (kind, options) in CONFIGS.items()}
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out), metadata=metadata)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
