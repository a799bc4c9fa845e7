#!/usr/bin/env python3
"""Exports a torch.nn.Sequential to Rucksack's model format, and reads that format back.

The format is described in Docs/model-format.md: `model.json` lists the layers, and
`weights.safetensors` holds the state dict (parameters and buffers) under Sequential names.

Python use (with scripts/reference on sys.path):

    from export_model import export_model, load_model_json, SumOfBranches
    export_model(model, "out_dir")            # writes out_dir/model.json, out_dir/weights.safetensors
    export_model(model, ("m.json", "w.safetensors"), omit_defaults=True)
    rebuilt = load_model_json("out_dir/model.json", "out_dir/weights.safetensors")

Command line (from the repository root):

    scripts/reference/.venv/bin/python scripts/reference/export_model.py MODULE:FUNCTION OUT_DIR

MODULE is an importable module name or a path to a .py file; FUNCTION takes no arguments and
returns the torch.nn.Sequential to export.

Residual graphs: a `Parallel` layer sums the outputs of its branches. Both `SumOfBranches`
(below; children "0", "1", …) and BackPACK's `backpack.custom_module.branching.Parallel` with
its default `SumModule` merge export as `Parallel`. BackPACK's Parallel keeps its branches in a
child called `branch`, so its state dict names are `<index>.branch.<branch index>.…`; the
exporter writes them under the format's names `<index>.<branch index>.…`.

Every name in the written state dict is positional (`<index>.<child index>.…<parameter>`), even
when a Sequential was built from an OrderedDict with other child names.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import pathlib
import sys
from typing import Any, Callable

import torch
from torch import nn

try:  # BackPACK is optional for the exporter; without it only SumOfBranches is a Parallel.
    from backpack.custom_module.branching import Parallel as BackpackParallel
    from backpack.custom_module.branching import SumModule as BackpackSumModule
except ImportError:  # pragma: no cover
    BackpackParallel = None
    BackpackSumModule = None

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"


class SumOfBranches(nn.Module):
    """Feeds the input to every child ("0", "1", …) and sums their outputs; exported as `Parallel`."""

    def __init__(self, *branches: nn.Module):
        super().__init__()
        if not branches:
            raise ValueError("SumOfBranches needs at least one branch")
        for index, branch in enumerate(branches):
            self.add_module(str(index), branch)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        outputs = [branch(input) for branch in self.children()]
        total = outputs[0]
        for output in outputs[1:]:
            total = total + output
        return total


class UnsupportedModelError(ValueError):
    """A module, or an option of a module, that the Rucksack model format does not describe."""


# ----------------------------------------------------------------------------------------------
# Export


def _fail(path: str, module: nn.Module, message: str) -> None:
    where = f"module '{path}'" if path else "the top-level module"
    raise UnsupportedModelError(f"{where} ({type(module).__name__}): {message}")


def _require(condition: bool, path: str, module: nn.Module, option: str, value: Any, allowed: str) -> None:
    if not condition:
        _fail(path, module, f"option {option}={value!r} is not supported ({allowed})")


def _int(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise TypeError(f"expected an int, got {value!r}")
    return int(value)


def _size(value: Any, path: str, module: nn.Module, option: str) -> int | list[int]:
    """An int, or a list of ints when the per-axis values differ."""
    if isinstance(value, (tuple, list)):
        if any(entry is None for entry in value):
            _require(False, path, module, option, value, "None entries are not supported")
        values = [_int(entry) for entry in value]
        if len(set(values)) == 1:
            return values[0]
        return values
    return _int(value)


def _float(value: Any) -> float:
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"non-finite value {value!r}")
    return result


def _conv(module: nn.Module, path: str, transposed: bool) -> list[tuple[str, Any, Any]]:
    _require(module.padding_mode == "zeros", path, module, "padding_mode", module.padding_mode, "only 'zeros'")
    padding = module.padding
    if isinstance(padding, str):
        _require(padding in ("same", "valid"), path, module, "padding", padding, "'same' or 'valid'")
    else:
        padding = _size(padding, path, module, "padding")
    keys = [
        ("in_channels", module.in_channels, None),
        ("out_channels", module.out_channels, None),
        ("kernel_size", _size(module.kernel_size, path, module, "kernel_size"), None),
        ("stride", _size(module.stride, path, module, "stride"), 1),
        ("padding", padding, 0),
    ]
    bias = module.bias is not None
    dilation = _size(module.dilation, path, module, "dilation")
    if transposed:
        keys += [
            ("output_padding", _size(module.output_padding, path, module, "output_padding"), 0),
            ("groups", module.groups, 1),
            ("bias", bias, True),
            ("dilation", dilation, 1),
        ]
    else:
        keys += [
            ("dilation", dilation, 1),
            ("groups", module.groups, 1),
            ("bias", bias, True),
            ("padding_mode", "zeros", "zeros"),
        ]
    return keys


def _max_pool(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    _require(not module.return_indices, path, module, "return_indices", module.return_indices, "only False")
    kernel = _size(module.kernel_size, path, module, "kernel_size")
    stride = _size(module.stride if module.stride is not None else module.kernel_size, path, module, "stride")
    return [
        ("kernel_size", kernel, None),
        ("stride", stride, kernel),
        ("padding", _size(module.padding, path, module, "padding"), 0),
        ("dilation", _size(module.dilation, path, module, "dilation"), 1),
        ("ceil_mode", bool(module.ceil_mode), False),
    ]


def _avg_pool(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    divisor = getattr(module, "divisor_override", None)
    _require(divisor is None, path, module, "divisor_override", divisor, "only None")
    kernel = _size(module.kernel_size, path, module, "kernel_size")
    stride = _size(module.stride if module.stride is not None else module.kernel_size, path, module, "stride")
    return [
        ("kernel_size", kernel, None),
        ("stride", stride, kernel),
        ("padding", _size(module.padding, path, module, "padding"), 0),
        ("ceil_mode", bool(module.ceil_mode), False),
        ("count_include_pad", bool(module.count_include_pad), True),
    ]


def _adaptive_avg_pool(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    return [("output_size", _size(module.output_size, path, module, "output_size"), None)]


def _zero_pad(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    value = getattr(module, "value", 0.0)
    _require(value == 0, path, module, "value", value, "ZeroPad2d pads with 0")
    padding = [_int(entry) for entry in module.padding]
    return [("padding", padding, None)]


def _constant_pad(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    padding = [_int(entry) for entry in module.padding]
    return [("padding", padding, None), ("value", _float(module.value), None)]


def _batch_norm(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    _require(module.momentum is not None, path, module, "momentum", None, "a number; None is not supported")
    return [
        ("num_features", module.num_features, None),
        ("eps", _float(module.eps), 1e-5),
        ("momentum", _float(module.momentum), 0.1),
        ("affine", bool(module.affine), True),
        ("track_running_stats", bool(module.track_running_stats), True),
    ]


def _gelu(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    _require(module.approximate == "none", path, module, "approximate", module.approximate, "only 'none'")
    return [("approximate", "none", "none")]


def _no_keys(module: nn.Module, path: str) -> list[tuple[str, Any, Any]]:
    return []


# Exact classes (subclasses such as ZeroPad2d < ConstantPad2d are listed separately on purpose).
_LEAVES: dict[type, Callable[[nn.Module, str], list[tuple[str, Any, Any]]]] = {
    nn.Linear: lambda m, p: [
        ("in_features", m.in_features, None),
        ("out_features", m.out_features, None),
        ("bias", m.bias is not None, True),
    ],
    nn.Conv1d: lambda m, p: _conv(m, p, transposed=False),
    nn.Conv2d: lambda m, p: _conv(m, p, transposed=False),
    nn.Conv3d: lambda m, p: _conv(m, p, transposed=False),
    nn.ConvTranspose1d: lambda m, p: _conv(m, p, transposed=True),
    nn.ConvTranspose2d: lambda m, p: _conv(m, p, transposed=True),
    nn.ConvTranspose3d: lambda m, p: _conv(m, p, transposed=True),
    nn.MaxPool1d: _max_pool,
    nn.MaxPool2d: _max_pool,
    nn.MaxPool3d: _max_pool,
    nn.AvgPool1d: _avg_pool,
    nn.AvgPool2d: _avg_pool,
    nn.AvgPool3d: _avg_pool,
    nn.AdaptiveAvgPool1d: _adaptive_avg_pool,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.AdaptiveAvgPool3d: _adaptive_avg_pool,
    nn.ZeroPad2d: _zero_pad,
    nn.ConstantPad1d: _constant_pad,
    nn.ConstantPad2d: _constant_pad,
    nn.ConstantPad3d: _constant_pad,
    nn.Flatten: lambda m, p: [("start_dim", _int(m.start_dim), 1), ("end_dim", _int(m.end_dim), -1)],
    nn.Identity: _no_keys,
    nn.Dropout: lambda m, p: [("p", _float(m.p), 0.5)],
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm3d: _batch_norm,
    nn.ReLU: _no_keys,
    nn.Sigmoid: _no_keys,
    nn.Tanh: _no_keys,
    nn.LogSigmoid: _no_keys,
    nn.SELU: _no_keys,
    nn.SiLU: _no_keys,
    nn.LeakyReLU: lambda m, p: [("negative_slope", _float(m.negative_slope), 0.01)],
    nn.ELU: lambda m, p: [("alpha", _float(m.alpha), 1.0)],
    nn.Softplus: lambda m, p: [("beta", _float(m.beta), 1.0), ("threshold", _float(m.threshold), 20.0)],
    nn.GELU: _gelu,
}

# The state entries (parameters and buffers) each leaf type may own.
_STATE: dict[type, set[str]] = {
    **{cls: {"weight", "bias"} for cls in (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
                                           nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)},
    **{cls: {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
       for cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)},
}


class _Export:
    def __init__(self, omit_defaults: bool):
        self.omit_defaults = omit_defaults
        self.tensors: dict[str, torch.Tensor] = {}
        self.names: dict[str, str] = {}  # torch state-dict name -> exported name

    def container_children(self, module: nn.Module, path: str) -> tuple[str, list[tuple[str, nn.Module]]] | None:
        """("Sequential" | "Parallel", [(torch child path, child)]) for a container, else None."""
        def join(name: str) -> str:
            return f"{path}.{name}" if path else name

        if type(module) is nn.Sequential:
            return "Sequential", [(join(name), child) for name, child in module.named_children()]
        if type(module) is SumOfBranches:
            return "Parallel", [(join(name), child) for name, child in module.named_children()]
        if BackpackParallel is not None and type(module) is BackpackParallel:
            children = dict(module.named_children())
            if set(children) != {"branch", "merge"}:
                _fail(path, module, f"unexpected children {sorted(children)}; expected 'branch' and 'merge'")
            if type(children["merge"]) is not BackpackSumModule:
                _fail(path, module, f"option merge_module={type(children['merge']).__name__} is not supported "
                                    "(only the default SumModule)")
            return "Parallel", [(join(f"branch.{name}"), child)
                                for name, child in children["branch"].named_children()]
        return None

    def layer(self, module: nn.Module, path: str, exported: str) -> dict[str, Any]:
        container = self.container_children(module, path)
        if container is not None:
            kind, children = container
            if not children:
                _fail(path, module, "an empty container is not supported")
            own = [name for name, _ in module.named_parameters(recurse=False)] + \
                  [name for name, _ in module.named_buffers(recurse=False)]
            if own:
                _fail(path, module, f"a container with its own parameters or buffers {own} is not supported")
            layers = [self.layer(child, child_path, f"{exported}.{index}")
                      for index, (child_path, child) in enumerate(children)]
            return {"type": kind, "layers" if kind == "Sequential" else "branches": layers}

        describe = _LEAVES.get(type(module))
        if describe is None:
            _fail(path, module, "this module type is not supported by the Rucksack model format")
        if any(True for _ in module.children()):
            _fail(path, module, "a supported layer with child modules is not supported")
        entry: dict[str, Any] = {"type": type(module).__name__}
        for key, value, default in describe(module, path):
            if self.omit_defaults and default is not None and value == default and type(value) is type(default):
                continue
            entry[key] = value

        state = module.state_dict()
        allowed = _STATE.get(type(module), set())
        unexpected = sorted(set(state) - allowed)
        if unexpected:
            _fail(path, module, f"unexpected parameters or buffers {unexpected}")
        for name, tensor in state.items():
            if tensor is None:
                continue
            torch_name = f"{path}.{name}" if path else name
            exported_name = f"{exported}.{name}"
            self.tensors[exported_name] = tensor.detach().cpu().clone().contiguous()
            self.names[torch_name] = exported_name
        return entry


def describe_model(model: nn.Sequential, *, omit_defaults: bool = False
                   ) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, str]]:
    """(model JSON object, exported state dict, {torch state-dict name: exported name})."""
    if type(model) is not nn.Sequential:
        _fail("", model, "the model must be a torch.nn.Sequential")
    export = _Export(omit_defaults)
    layers = [export.layer(child, name, str(index))
              for index, (name, child) in enumerate(model.named_children())]
    missing = sorted(set(model.state_dict()) - set(export.names))
    if missing:  # every entry of the torch state dict must have been exported
        raise UnsupportedModelError(f"state dict entries not covered by the export: {missing}")
    return {"layers": layers}, export.tensors, export.names


def _format_layer(layer: dict[str, Any], indent: str) -> str:
    """One layer per line; containers list their children on indented lines."""
    children_key = "layers" if layer["type"] == "Sequential" else "branches" if layer["type"] == "Parallel" else None
    if children_key is None:
        return indent + json.dumps(layer)
    inner = indent + "  "
    children = ",\n".join(_format_layer(child, inner + "  ") for child in layer[children_key])
    return f'{indent}{{"type": {json.dumps(layer["type"])}, "{children_key}": [\n{children}\n{inner}]}}'


def format_model_json(spec: dict[str, Any]) -> str:
    layers = ",\n".join(_format_layer(layer, "  ") for layer in spec["layers"])
    text = f'{{"layers": [\n{layers}\n]}}\n'
    assert json.loads(text) == spec
    return text


def export_model(model: nn.Sequential, destination: str | pathlib.Path | tuple, *,
                 omit_defaults: bool = False) -> dict[str, str]:
    """Writes model.json and weights.safetensors; returns {torch state-dict name: exported name}.

    `destination` is a directory (created if needed; the files get the names model.json and
    weights.safetensors) or a pair (model JSON path, weights path). With `omit_defaults`, keys
    whose value equals PyTorch's default are left out of the JSON.
    """
    from safetensors.torch import save_file

    spec, tensors, names = describe_model(model, omit_defaults=omit_defaults)
    if isinstance(destination, (tuple, list)):
        model_path, weights_path = (pathlib.Path(path) for path in destination)
    else:
        directory = pathlib.Path(destination)
        directory.mkdir(parents=True, exist_ok=True)
        model_path, weights_path = directory / MODEL_FILE, directory / WEIGHTS_FILE
    model_path.write_text(format_model_json(spec))
    save_file(tensors, str(weights_path))
    weights_path.chmod(0o644)  # the safetensors writer creates files private to the user
    return names


# ----------------------------------------------------------------------------------------------
# Import: an independent reader that rebuilds a torch model from the JSON (used to check fixtures)

_CONV = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
         "padding_mode"]
_CONV_TRANSPOSE = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
                   "groups", "bias", "dilation"]
_KEYS: dict[str, list[str]] = {
    "Linear": ["in_features", "out_features", "bias"],
    **{f"Conv{d}d": _CONV for d in (1, 2, 3)},
    **{f"ConvTranspose{d}d": _CONV_TRANSPOSE for d in (1, 2, 3)},
    **{f"MaxPool{d}d": ["kernel_size", "stride", "padding", "dilation", "ceil_mode"] for d in (1, 2, 3)},
    **{f"AvgPool{d}d": ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"] for d in (1, 2, 3)},
    **{f"AdaptiveAvgPool{d}d": ["output_size"] for d in (1, 2, 3)},
    "ZeroPad2d": ["padding"],
    **{f"ConstantPad{d}d": ["padding", "value"] for d in (1, 2, 3)},
    "Flatten": ["start_dim", "end_dim"],
    "Identity": [],
    "Dropout": ["p"],
    **{f"BatchNorm{d}d": ["num_features", "eps", "momentum", "affine", "track_running_stats"] for d in (1, 2, 3)},
    **{name: [] for name in ("ReLU", "Sigmoid", "Tanh", "LogSigmoid", "SELU", "SiLU")},
    "LeakyReLU": ["negative_slope"],
    "ELU": ["alpha"],
    "Softplus": ["beta", "threshold"],
    "GELU": ["approximate"],
}


def _build(layer: Any, where: str) -> nn.Module:
    if not isinstance(layer, dict) or not isinstance(layer.get("type"), str):
        raise ValueError(f"{where}: a layer must be an object with a string 'type'")
    kind = layer["type"]
    where = f"{where} ({kind})"
    if kind in ("Sequential", "Parallel"):
        key = "layers" if kind == "Sequential" else "branches"
        extra = sorted(set(layer) - {"type", key})
        if extra:
            raise ValueError(f"{where}: unknown key {extra[0]!r}")
        if not isinstance(layer.get(key), list) or not layer[key]:
            raise ValueError(f"{where}: '{key}' must be a non-empty list")
        children = [_build(child, f"{where}.{key}[{index}]") for index, child in enumerate(layer[key])]
        return nn.Sequential(*children) if kind == "Sequential" else SumOfBranches(*children)
    if kind not in _KEYS:
        raise ValueError(f"{where}: unknown layer type")
    arguments = {}
    for key, value in layer.items():
        if key == "type":
            continue
        if key not in _KEYS[kind]:
            raise ValueError(f"{where}: unknown key {key!r}")
        if key == "padding_mode" and value != "zeros" or key == "approximate" and value != "none":
            raise ValueError(f"{where}: unsupported value {key}={value!r}")
        if isinstance(value, list):
            value = tuple(value)
        arguments[key] = value
    return getattr(nn, kind)(**arguments)


def load_model_json(model: str | pathlib.Path | dict, weights: str | pathlib.Path | None = None) -> nn.Sequential:
    """Rebuilds the torch model (Parallel -> SumOfBranches) and loads the weights strictly."""
    spec = json.loads(pathlib.Path(model).read_text()) if not isinstance(model, dict) else model
    if not isinstance(spec, dict) or set(spec) != {"layers"} or not isinstance(spec["layers"], list):
        raise ValueError("the model must be an object with exactly the key 'layers' (a list)")
    sequential = nn.Sequential(*[_build(layer, f"layers[{index}]") for index, layer in enumerate(spec["layers"])])
    if weights is not None:
        from safetensors.torch import load_file

        state = load_file(str(weights))
        sequential.load_state_dict(state, strict=True)
        for name, tensor in sequential.state_dict().items():
            if tensor.dtype != state[name].dtype:
                raise ValueError(f"{name}: dtype {state[name].dtype} in the file, {tensor.dtype} in the model")
    return sequential


# ----------------------------------------------------------------------------------------------
# Command line


def _load_function(target: str) -> Callable[[], nn.Module]:
    module_name, _, function_name = target.rpartition(":")
    if not module_name or not function_name:
        raise SystemExit(f"expected MODULE:FUNCTION, got {target!r}")
    if module_name.endswith(".py"):
        spec = importlib.util.spec_from_file_location(pathlib.Path(module_name).stem, module_name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    return getattr(module, function_name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Export a torch.nn.Sequential to Rucksack's model.json + weights.safetensors "
                    "(format: Docs/model-format.md).")
    parser.add_argument("target", metavar="MODULE:FUNCTION",
                        help="module name or path to a .py file, and a function without arguments "
                             "that returns the torch.nn.Sequential")
    parser.add_argument("out_dir", type=pathlib.Path, help="directory for model.json and weights.safetensors")
    parser.add_argument("--omit-defaults", action="store_true",
                        help="leave out keys whose value is PyTorch's default")
    arguments = parser.parse_args(argv)
    sys.path.insert(0, str(pathlib.Path.cwd()))
    model = _load_function(arguments.target)()
    try:
        export_model(model, arguments.out_dir, omit_defaults=arguments.omit_defaults)
    except UnsupportedModelError as error:
        raise SystemExit(f"error: {error}")
    print(f"wrote {arguments.out_dir / MODEL_FILE} and {arguments.out_dir / WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
