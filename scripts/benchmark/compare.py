"""Times PyTorch/BackPACK and Rucksack side by side on the five standard problems, on this machine.

The problems of the BackPACK paper and DeepOBS (float32, cross-entropy with mean reduction,
random data of the right shapes): mnist_logreg, mnist_mlp, fmnist_2c2d (N=128), cifar10_3c3d
(N=64), cifar100_allcnnc (N=32), with the same networks as `rucksack bench problems`. For every
cell (problem × configuration: the plain gradient, each of BackPACK's first-order extensions,
the four together, the second-order extensions, Monte Carlo ones with one sample, and the
curvature products below) both
sides run in a fresh process with the same thread count, PyTorch first and Rucksack right after,
so that machine noise hits both alike; with `--rounds R` the pair runs R times in turn (A B A B …)
and each side's figure is the median of its R process medians (its peak memory the largest), so
that a slow phase of the machine (they last seconds to minutes on a shared virtual machine) does
not decide a cell. The plain gradient is plain PyTorch; the quantities are
BackPACK 1.7.1 extensions on the extended model. Each process times `--repetitions` steps after
`--warmup` warm-up steps and reports the median and its peak resident memory. A process that
runs past `--time-limit` seconds is stopped, and the cell says so; PyTorch's address space is
capped at `--memory-limit` GB, so that a matrix that does not fit ends in an error instead of
swapping, and Rucksack gets the same limit (`--memory-limit`). The table gives per cell the time
ratio and the peak-memory ratio, PyTorch/BackPACK ÷ Rucksack: above 1, Rucksack is faster or
smaller.

Usage (from the repository root, after scripts/reference/setup_venv.sh and
`swift build -c release --product rucksack`):

    scripts/reference/.venv/bin/python scripts/benchmark/compare.py --threads 2 [--repetitions 10] [--rounds 1] [--problems mnist_mlp,...]
        [--configurations grad,diag_ggn_exact,hvp,...] [--warmup 2] [--time-limit 600] [--memory-limit 16]

The curvature products (hmp, ggnmp, pchmp, hvp, ggn_vp, cg_newton_step; not in the default
configurations) also need curvlinops: scripts/reference/.venv/bin/pip install curvlinops-for-pytorch==3.0.1.
"""
import argparse
import json
import pathlib
import resource
import statistics
import subprocess
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBLEMS = ["mnist_logreg", "mnist_mlp", "fmnist_2c2d", "cifar10_3c3d", "cifar100_allcnnc"]
FIRST_ORDER = ["grad", "batch_grad", "batch_l2", "sum_grad_squared", "variance", "four"]
SECOND_ORDER = ["diag_ggn_exact", "diag_ggn_mc", "diag_h", "kfac", "kflr", "kfra",
                "diag_ggn_exact_batch", "diag_ggn_mc_batch", "diag_h_batch", "sqrt_ggn_exact", "sqrt_ggn_mc"]
# Curvature products, each timed from the batch (forward and backward included): one product of
# each parameter block with a random vector (BackPACK's HMP, GGNMP, PCHMP), a whole-network product
# (curvlinops' HessianLinearOperator and GGNLinearOperator), one CGNewton step on the GGNMP blocks
# (bpexts' conjugate gradients: alpha 0.05, relative tolerance 0.1, at most 50 iterations per block).
PRODUCTS = ["hmp", "ggnmp", "pchmp", "hvp", "ggn_vp", "cg_newton_step"]
CONFIGURATIONS = FIRST_ORDER + SECOND_ORDER


def network(problem):
    """(model, input shape, classes), as BenchmarkProblem in Sources/RucksackCLI/BenchmarkProblems.swift."""
    import torch.nn as nn
    if problem == "mnist_logreg":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (128, 1, 28, 28), 10
    if problem == "mnist_mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)), (128, 1, 28, 28), 10
    if problem == "fmnist_2c2d":
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Linear(1024, 10)), (128, 1, 28, 28), 10
    if problem == "cifar10_3c3d":
        return nn.Sequential(
            nn.Conv2d(3, 64, 5), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(64, 96, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
            nn.Conv2d(96, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Flatten(),
            nn.Linear(1152, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)), (64, 3, 32, 32), 10
    if problem == "cifar100_allcnnc":
        blocks = [(3, 96, 3, 1, 1), (96, 96, 3, 1, 1), (96, 96, 3, 2, 1), (96, 192, 3, 1, 1), (192, 192, 3, 1, 1), (192, 192, 3, 2, 1),
                  (192, 192, 3, 1, 0), (192, 192, 1, 1, 0), (192, 100, 1, 1, 0)]
        layers = []
        for c_in, c_out, k, s, p in blocks:
            layers += [nn.Conv2d(c_in, c_out, k, stride=s, padding=p), nn.ReLU()]
        return nn.Sequential(*layers, nn.AvgPool2d(6), nn.Flatten()), (32, 3, 32, 32), 100
    raise ValueError(problem)


def extension_classes(configuration):
    """BackPACK's extensions for a configuration (none for the plain gradient)."""
    from backpack import extensions as e
    first = {"batch_grad": [e.BatchGrad], "batch_l2": [e.BatchL2Grad], "sum_grad_squared": [e.SumGradSquared],
             "variance": [e.Variance], "four": [e.BatchGrad, e.BatchL2Grad, e.SumGradSquared, e.Variance]}
    second = {"diag_ggn_exact": e.DiagGGNExact, "diag_ggn_mc": lambda: e.DiagGGNMC(mc_samples=1), "diag_h": e.DiagHessian,
              "kfac": lambda: e.KFAC(mc_samples=1), "kflr": e.KFLR, "kfra": e.KFRA,
              "diag_ggn_exact_batch": e.BatchDiagGGNExact, "diag_ggn_mc_batch": lambda: e.BatchDiagGGNMC(mc_samples=1),
              "diag_h_batch": e.BatchDiagHessian, "sqrt_ggn_exact": e.SqrtGGNExact, "sqrt_ggn_mc": lambda: e.SqrtGGNMC(mc_samples=1)}
    return first.get(configuration, [second[configuration]] if configuration in second else [])


def conjugate_gradients(apply, b, tolerance=0.1, max_iterations=50):
    """bpexts' cg (HBP spec §5.1), with its iteration bound and without its extra iteration."""
    import torch
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    squared = (r * r).sum()
    bound = tolerance * squared.sqrt()
    for _ in range(max_iterations):
        if squared.sqrt() <= bound:
            break
        ap = apply(p)
        step = squared / (p * ap).sum()
        x += step * p
        r -= step * ap
        new = (r * r).sum()
        p = r + (new / squared) * p
        squared = new
    return x


def product_step(configuration, model, loss_fn, x, y):
    """A step of one curvature product on PyTorch: BackPACK's block products, curvlinops'
    whole-network products, a CGNewton step on BackPACK's GGNMP blocks."""
    import torch
    from backpack import backpack, extensions
    params = [p for p in model.parameters()]
    vectors = [torch.randn_like(p) for p in params]
    if configuration in ("hvp", "ggn_vp"):
        from curvlinops import GGNLinearOperator, HessianLinearOperator
        kind = HessianLinearOperator if configuration == "hvp" else GGNLinearOperator
        operator = kind(model, loss_fn, params, [(x, y)], check_deterministic=False)
        return lambda: operator @ vectors
    extension, field = {"hmp": (extensions.HMP, "hmp"), "ggnmp": (extensions.GGNMP, "ggnmp"), "cg_newton_step": (extensions.GGNMP, "ggnmp"),
                        "pchmp": (lambda: extensions.PCHMP(modify="abs"), "pchmp")}[configuration]

    def step():
        model.zero_grad()
        loss = loss_fn(model(x), y)
        with backpack(extension()):
            loss.backward()
        for p, v in zip(params, vectors):
            product = getattr(p, field)
            if configuration == "cg_newton_step":
                alpha = 0.05
                apply = lambda u, product=product: (alpha * u + (1 - alpha) * product(u.unsqueeze(0))[0])
                conjugate_gradients(apply, -p.grad)
            else:
                product(v.unsqueeze(0))
    return step


def torch_worker(problem, configuration, threads, repetitions, warmup, memory_limit_gb):
    """One cell on PyTorch/BackPACK in this process; prints JSON."""
    limit = int(memory_limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import torch
    from backpack import backpack, extend
    warnings.filterwarnings("ignore")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, shape, classes = network(problem)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.randn(*shape), torch.randint(0, classes, (shape[0],))
    extensions = extension_classes(configuration)
    # curvlinops' functorch transforms do not run through BackPACK's extended modules.
    if extensions or configuration in ("hmp", "ggnmp", "pchmp", "cg_newton_step"):
        model, loss_fn = extend(model), extend(loss_fn)

    def step():
        model.zero_grad()
        loss = loss_fn(model(x), y)
        if extensions:
            with backpack(*[cls() for cls in extensions]):
                loss.backward()
        else:
            loss.backward()

    if configuration in PRODUCTS:
        step = product_step(configuration, model, loss_fn, x, y)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({"median_ms": 1000 * median, "spread": (max(times) - min(times)) / median,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def cpu_times():
    """(steal, total) CPU time of all cores so far in clock ticks, from Linux's /proc/stat; None
    where it cannot be read. Steal is the time the hypervisor gave the virtual CPUs to others."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def run_cell(command, time_limit):
    """The last line of a worker's output as JSON, or why there is none; a result also gets the
    share of CPU time stolen by the hypervisor while the process ran (`steal`, 0 to 1)."""
    before = cpu_times()
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=time_limit)
    except subprocess.TimeoutExpired:
        return {"failed": f"past {time_limit:.0f} s"}, ""
    if output.returncode != 0:
        lines = (output.stderr or output.stdout).strip().splitlines() or [f"exit status {output.returncode}"]
        errors = [line for line in lines if line.startswith("Error")] or lines[-1:]
        return {"failed": errors[0][:200]}, ""
    result = json.loads(output.stdout.strip().splitlines()[-1])
    after = cpu_times()
    if before and after and after[1] > before[1]:
        result["steal"] = round((after[0] - before[0]) / (after[1] - before[1]), 3)
    return result, (output.stderr.strip().splitlines() or [""])[0]


def run_torch(problem, configuration, arguments):
    command = [sys.executable, __file__, "--worker", problem, configuration, "--threads", str(arguments.threads),
               "--repetitions", str(arguments.repetitions), "--warmup", str(arguments.warmup),
               "--memory-limit", str(arguments.memory_limit)]
    return run_cell(command, arguments.time_limit)[0]


def run_rucksack(problem, configuration, arguments):
    binary = ROOT / ".build" / "release" / "rucksack"
    command = [str(binary), "bench", "problems", "--problem", problem, "--quantities", configuration,
               "--threads", str(arguments.threads), "--repetitions", str(arguments.repetitions),
               "--warmup", str(arguments.warmup), "--memory-limit", f"{int(arguments.memory_limit * 1024)}M"]
    return run_cell(command, arguments.time_limit)


def combined(results):
    """One side's rounds as one result: the median of the medians, the largest peak memory; a
    round that failed makes the cell fail."""
    failed = [r for r in results if "failed" in r]
    if failed:
        return failed[0]
    return dict(results[0], median_ms=statistics.median(r["median_ms"] for r in results),
                peak_rss_mb=max(r["peak_rss_mb"] for r in results))


def cell(theirs, ours, ratio):
    """A table cell: the ratio, or which side did not finish and why."""
    if "failed" in theirs or "failed" in ours:
        side = lambda result, name: f"{name}: {result['failed']}" if "failed" in result else f"{name}: {result['median_ms']:.0f} ms"
        return f"{side(theirs, 'BackPACK')}; {side(ours, 'Rucksack')}"
    return ratio(theirs, ours)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="alternating PyTorch/Rucksack process pairs per cell")
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--configurations", default=",".join(CONFIGURATIONS))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=600, help="seconds per process")
    parser.add_argument("--memory-limit", type=float, default=16, help="GB per process")
    parser.add_argument("--worker", nargs=2, metavar=("PROBLEM", "CONFIGURATION"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        torch_worker(*arguments.worker, arguments.threads, arguments.repetitions, arguments.warmup, arguments.memory_limit)
        return
    problems, configurations = arguments.problems.split(","), arguments.configurations.split(",")
    results, cell_rounds, backend = {}, {}, ""
    for problem in problems:
        for configuration in configurations:
            pairs = []
            for _ in range(max(1, arguments.rounds)):
                theirs = run_torch(problem, configuration, arguments)
                ours, note = run_rucksack(problem, configuration, arguments)
                backend = note or backend
                pairs.append((theirs, ours))
            theirs, ours = combined([p[0] for p in pairs]), combined([p[1] for p in pairs])
            results[problem, configuration] = (theirs, ours)
            cell_rounds[problem, configuration] = pairs
            print(json.dumps({"problem": problem, "quantity": configuration, "torch": theirs, "rucksack": ours,
                              "rounds": [{"torch": t, "rucksack": o} for t, o in pairs]}), file=sys.stderr)
    rounds = f"median over {arguments.rounds} alternating rounds of the " if arguments.rounds > 1 else ""
    print(f"{arguments.threads} thread(s), {rounds}median of {arguments.repetitions} steps after {arguments.warmup} warm-up steps; {backend}")
    print("time ratio PyTorch/BackPACK ÷ Rucksack (peak-memory ratio in brackets); above 1: Rucksack is faster (smaller)\n")
    print("| problem (N) | " + " | ".join(configurations) + " |")
    print("|---|" + "---|" * len(configurations))
    sizes = {"mnist_logreg": 128, "mnist_mlp": 128, "fmnist_2c2d": 128, "cifar10_3c3d": 64, "cifar100_allcnnc": 32}
    for problem in problems:
        cells = []
        for configuration in configurations:
            cells.append(cell(*results[problem, configuration],
                              lambda t, o: f"{t['median_ms'] / o['median_ms']:.2f} ({t['peak_rss_mb'] / o['peak_rss_mb']:.2f})"))
        print(f"| {problem} ({sizes[problem]}) | " + " | ".join(cells) + " |")
    print("\nmedian ms, PyTorch/BackPACK / Rucksack:\n")
    print("| problem | " + " | ".join(configurations) + " |")
    print("|---|" + "---|" * len(configurations))
    for problem in problems:
        cells = [cell(*results[problem, c], lambda t, o: f"{t['median_ms']:.1f} / {o['median_ms']:.1f}") for c in configurations]
        print(f"| {problem} | " + " | ".join(cells) + " |")
    steals = {side: [r["steal"] for pairs in cell_rounds.values() for pair in pairs for r in [pair[index]] if "steal" in r]
              for index, side in enumerate(["PyTorch/BackPACK", "Rucksack"])}
    if any(steals.values()):
        print("\nCPU time stolen by the hypervisor while a process ran (/proc/stat), median and largest: " + "; ".join(
            f"{side} {100 * statistics.median(values):.0f} % and {100 * max(values):.0f} %" for side, values in steals.items() if values))


if __name__ == "__main__":
    main()
