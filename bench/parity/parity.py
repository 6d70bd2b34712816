"""Replays a Spacetime training run in PyTorch and compares it with ours, step by step.

    /usr/bin/python3 bench/parity/parity.py DIR [--float64 [--float64-steps N]] [--ulp-control] [--threads 1]

DIR is a parity folder written by `spacetime train vae|dit ... --dump-parity DIR` (src/Spacetime.Training/
TrainParity.cs). The network is built from DIR/config.json (vae.py, dit.py), loaded with OUR initial weights, fed
OUR inputs of every step, and trained with the trainer's rules (train.py): gradient clipping, warmup + cosine
learning rate, AdamW without decay on biases and norms. Written: DIR/torch.csv (step,loss,grad_norm,lr; row by
row), DIR/torch_grads_step1.safetensors, DIR/torch_final.safetensors, DIR/agreement.md (the tables printed):
per-step losses of both and their relative difference, step 1's gradients compared by parameter name, the final
weights compared.

Exit 0: the losses agree (relative difference <= 1e-4 over the first 10 steps and <= 1e-2 over all, or, with
--float64 or --ulp-control, every difference beyond that is float32 rounding: see README.md); 1: they do not;
2: bad input (a missing file, a config field the mirror lacks, parameter names that differ).
"""
import argparse
import csv
import json
import math
import os
import sys

# Idle OpenMP threads sleep instead of spinning: on a shared machine spinning threads made a step 10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
import train  # noqa: E402
from common import BadInput  # noqa: E402

EARLY_STEPS, EARLY_TOL, ALL_TOL = 10, 1e-4, 1e-2
# a drift this small a share of PyTorch's own drift from float64 is float32 rounding
ROUNDING_SHARE = 0.1
# ours may drift from PyTorch up to this many times as far as PyTorch drifts from itself after a one-ulp nudge
ULP_FACTOR = 3.0


def build_task(header):
    if header.get("kind") == "vae":
        import vae
        return vae.VaeTask(header)
    if header.get("kind") == "dit":
        import dit
        return dit.DitTask(header)
    raise BadInput(f"config.json: kind {header.get('kind')!r} is neither 'vae' nor 'dit'")


def load_weights(model, path):
    """Our weights into the mirror; any name or shape mismatch is one line naming the tensors."""
    ours = st_io.read(path)
    theirs = model.state_dict()
    missing = [k for k in theirs if k not in ours]
    extra = [k for k in ours if k not in theirs]
    if missing or extra:
        raise BadInput(f"parameter names differ: in the PyTorch mirror but not in {os.path.basename(path)}: "
                       f"{', '.join(missing) or 'none'}; in {os.path.basename(path)} but not in the mirror: "
                       f"{', '.join(extra) or 'none'}")
    shapes = [f"{k} ours {list(ours[k].shape)} mirror {list(v.shape)}" for k, v in theirs.items()
              if list(ours[k].shape) != list(v.shape)]
    if shapes:
        raise BadInput(f"parameter shapes differ: {'; '.join(shapes)}")
    model.load_state_dict(ours)
    return list(ours)                        # our key order (forward order of the modules)


def read_ours(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def tensor_rel(a, b):
    """||a - b|| / max(||a||, ||b||): relative difference of two tensors as a whole."""
    d = (a - b).norm().item()
    n = max(a.norm().item(), b.norm().item())
    return d / n if n > 0 else d


def one_ulp(x, g):
    """x with every element moved one unit in the last place, up or down at random."""
    up = torch.rand(x.shape, generator=g) < 0.5
    return torch.nextafter(x, torch.where(up, torch.full_like(x, math.inf), torch.full_like(x, -math.inf)))


def replay(header, d, dtype, tag, stop=None, nudge=False, on_step=None):
    """The whole run in PyTorch at `dtype`: (log, step-1 gradients, final weights, our key order). With `nudge`,
    every initial weight and every input value first moves one unit in the last place (up or down at random, fixed
    seeds): a run that differs from the plain one only by rounding."""
    task = build_task(header)
    order = load_weights(task.model, os.path.join(d, "init.safetensors"))
    task.model.to(dtype)
    if nudge:
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in task.model.parameters():
                p.copy_(one_ulp(p, g))
    cfg = train.TrainSettings(header["train"])

    def inputs(step):
        path = os.path.join(d, "inputs", f"step{step:05d}.safetensors")
        if not os.path.exists(path):
            raise BadInput(f"{path} is missing (the folder holds fewer steps than its config.json says)")
        tensors = {k: v.to(dtype) for k, v in st_io.read(path).items()}
        if nudge:                    # the data too (not the token ids, flags or masks)
            g = torch.Generator().manual_seed(step)
            for k, v in tensors.items():
                if k.rsplit(".", 1)[-1] in ("video", "x0", "noise"):
                    tensors[k] = one_ulp(v, g)
        return tensors

    log, grads = train.run(task, cfg, inputs, tag, stop, on_step)
    return log, grads, dict(task.model.state_dict()), order


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=1,
                    help="PyTorch CPU threads (1: on a busy machine more threads wait on each other)")
    ap.add_argument("--grad-tol", type=float, default=1e-3,
                    help="relative difference above which a step-1 gradient counts as differing")
    ap.add_argument("--float64", action="store_true",
                    help="also replay in float64, the exact reference both float32 runs are measured against")
    ap.add_argument("--float64-steps", type=int, default=None, metavar="N",
                    help="replay only the first N steps in float64 (float64 convolutions are slow on a CPU)")
    ap.add_argument("--ulp-control", action="store_true",
                    help="also replay in float32 from our initial weights moved by one unit in the last place: how "
                         "far two float32 runs that differ only by rounding drift apart over the run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = args.dir
    for f in ("config.json", "init.safetensors", "grads_step1.safetensors", "ours.csv", "final.safetensors"):
        if not os.path.exists(os.path.join(d, f)):
            raise BadInput(f"{d}: {f} is missing; write the folder with "
                           f"`spacetime train vae|dit ... --dump-parity {d}`")
    try:
        with open(os.path.join(d, "config.json")) as f:
            header = json.load(f)
    except json.JSONDecodeError as e:
        raise BadInput(f"{d}/config.json: {e}")
    ours = read_ours(os.path.join(d, "ours.csv"))
    with open(os.path.join(d, "torch.csv"), "w") as csv_file:          # row by row: a stopped replay keeps its steps
        csv_file.write("step,loss,grad_norm,lr\n")

        def row(r):
            csv_file.write(f"{r['step']},{r['loss']!r},{r['grad_norm']!r},{r['lr']!r}\n")
            csv_file.flush()

        log, grads, final, order = replay(header, d, torch.float32, "", on_step=row)
    st_io.write(os.path.join(d, "torch_grads_step1.safetensors"), grads)
    exact = replay(header, d, torch.float64, "float64 ", args.float64_steps) if args.float64 else None
    control = replay(header, d, torch.float32, "ulp control ", nudge=True) if args.ulp_control else None
    st_io.write(os.path.join(d, "torch_final.safetensors"), final)

    t = train.TrainSettings(header["train"])
    lines = [f"# Parity: {header['kind']}, {t.steps} steps, batch {t.batch}", "",
             "| step | ours loss | torch loss | rel diff | ours grad norm | torch grad norm | rel diff |"
             + (" float64 loss | ours vs f64 | torch vs f64 |" if exact else "")
             + (" torch vs ulp control |" if control else ""),
             "|---|---|---|---|---|---|---|" + ("---|---|---|" if exact else "") + ("---|" if control else "")]
    worst_early = worst_all = 0.0
    drift = apart = off = 0.0        # running maxima: torch vs the ulp control, ours vs torch, torch vs float64
    unexplained_steps = []           # steps whose difference is beyond the goal and not explained by rounding
    for i, (o, r) in enumerate(zip(ours, log)):
        diff = rel(o["loss"], r["loss"])
        worst_all = max(worst_all, diff)
        if r["step"] <= EARLY_STEPS:
            worst_early = max(worst_early, diff)
        row = (f"| {r['step']} | {o['loss']:.7g} | {r['loss']:.7g} | {diff:.2e} | {o['grad_norm']:.6g} | "
               f"{r['grad_norm']:.6g} | {rel(o['grad_norm'], r['grad_norm']):.2e} |")
        e = exact[0][i]["loss"] if exact and i < len(exact[0]) else None
        if exact:
            row += (f" {e:.7g} | {rel(o['loss'], e):.2e} | {rel(r['loss'], e):.2e} |" if e is not None
                    else " | | |")
        apart = max(apart, diff)
        if e is not None:
            off = max(off, rel(r["loss"], e))
        if control:
            c = rel(r["loss"], control[0][i]["loss"])
            drift = max(drift, c)
            row += f" {c:.2e} |"
        goal = EARLY_TOL if r["step"] <= EARLY_STEPS else ALL_TOL
        if (diff > goal and not (e is not None and apart <= ROUNDING_SHARE * off)
                and not (control and apart <= ULP_FACTOR * drift)):
            unexplained_steps.append(r["step"])
        lines.append(row)

    our_grads = st_io.read(os.path.join(d, "grads_step1.safetensors"))
    lines += ["", f"## Step 1 gradients (relative difference ours vs torch, forward order; listed above "
              f"{args.grad_tol:g}" + ("; then ours vs float64, torch vs float64" if exact else "") + ")", ""]
    first_bad, worst, unexplained = None, (0.0, None), []
    for name in order:
        a, b = our_grads.get(name), grads.get(name)
        if (a is None) != (b is None):
            lines.append(f"- {name}: gradient only on {'ours' if b is None else 'torch'}")
            first_bad = first_bad or name
            continue
        if a is None:
            continue
        r = tensor_rel(a, b)
        worst = max(worst, (r, name), key=lambda x: x[0])
        if r > args.grad_tol:
            note = ""
            if exact:
                ref = exact[1][name].float()
                ours_off, torch_off = tensor_rel(a, ref), tensor_rel(b, ref)
                # rounding: PyTorch itself is far from the exact gradient, and ours is no farther
                rounding = torch_off >= ROUNDING_SHARE and ours_off <= 2 * torch_off + args.grad_tol
                note = (f"; from float64: ours {ours_off:.2e}, torch {torch_off:.2e} (exact norm "
                        f"{ref.norm().item():.3g}): " + ("float32 rounding" if rounding else "NOT rounding"))
                if not rounding:
                    unexplained.append(name)
            lines.append(f"- {name}: {r:.2e}{note}")
            first_bad = first_bad or name
    lines.append(f"- worst: {worst[1]} {worst[0]:.2e}; first differing: {first_bad or 'none'}")

    our_final = st_io.read(os.path.join(d, "final.safetensors"))
    fw = max(((tensor_rel(our_final[k], final[k]), k) for k in order), key=lambda x: x[0])
    lines += ["", f"## Final weights: worst relative difference {fw[0]:.2e} ({fw[1]})"]
    if exact and len(exact[0]) == len(log):
        fo = max(((tensor_rel(our_final[k], exact[2][k].float()), k) for k in order), key=lambda x: x[0])
        ft = max(((tensor_rel(final[k], exact[2][k].float()), k) for k in order), key=lambda x: x[0])
        lines.append(f"against float64: ours {fo[0]:.2e} ({fo[1]}), torch {ft[0]:.2e} ({ft[1]})")
    lines += ["", f"Loss agreement: worst over steps 1-{min(EARLY_STEPS, len(log))} {worst_early:.2e} "
              f"(goal {EARLY_TOL:g}); over all {len(log)} steps {worst_all:.2e} (goal {ALL_TOL:g})."]
    if control:
        lines.append(f"One-ulp control: PyTorch against itself from weights and data one ulp apart drifts up to "
                     f"{drift:.2e}; "
                     f"ours against PyTorch up to {apart:.2e}.")
    if exact or control:
        # Beyond the goal, a difference still counts as float32 rounding when, up to that step, ours and PyTorch
        # have drifted apart by at most a small share of how far PyTorch's float32 run has gone from exact
        # arithmetic, or by at most ULP_FACTOR x as far as two PyTorch runs one ulp apart (running maxima: the
        # per-step distances swing with each batch); and every differing step-1 gradient must be rounding too.
        lines.append(f"Steps beyond the goal and not explained by float32 rounding: "
                     f"{', '.join(map(str, unexplained_steps)) or 'none'}; step-1 gradients not explained: "
                     f"{', '.join(unexplained) or 'none'}.")
        ok = not unexplained_steps and not unexplained
    else:
        ok = worst_early <= EARLY_TOL and worst_all <= ALL_TOL
    lines.append("AGREE" if ok else "DISAGREE")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(d, "agreement.md"), "w") as f:
        f.write(text)
    print(text, end="")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BadInput as e:
        print(f"parity: {e}", file=sys.stderr)
        sys.exit(2)
