#!/usr/bin/python3
"""Makes torch_small.safetensors, the PyTorch-written file that Nn/SafetensorsTests.cs reads.

Run once with Debian's python3-torch (apt-get install python3-torch; torch 1.13 here):
    /usr/bin/python3 make_torch_small.py               # writes torch_small.safetensors next to this script
    /usr/bin/python3 make_torch_small.py --check F...  # loads files written by Spacetime into torch (see below)

The `safetensors` Python package is not installed here, so the format is written by hand with struct + json:
an 8-byte little-endian header length, the JSON header (padded with spaces to 8-byte alignment), then the data.
The file holds:
  dtypes.*  F32, F16, BF16, F64, I64, I32 tensors with exactly representable values (the test hard-codes them),
            a 0-d scalar and an empty (0, 3) tensor
  tiny.*    the state dict of torch.nn.Linear(4, 3) followed by torch.nn.LayerNorm(3) (seed 0, LN affine randomised)
  mlp.*     the state dict of a timm-style Mlp: fc1 Linear(4, 8), GELU(approximate="tanh"), fc2 Linear(8, 4)
  io.*      a fixed input (2, 4) and the float32 outputs of both models on it: io.linear_out, io.tiny_out, io.mlp_out
--check loads each given file with the same hand-written reader into torch tensors, loads its tiny.* and mlp.* keys
into fresh torch modules with load_state_dict(strict=True), and compares the outputs with io.* (proves PyTorch opens
files written by Spacetime.Engine.IO.Safetensors.Write).
"""
import json
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32"}
TORCH_DTYPES = {v: k for k, v in DTYPES.items()}


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)
        self.norm = torch.nn.LayerNorm(3)

    def forward(self, x):
        return self.norm(self.linear(x))


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.act = torch.nn.GELU(approximate="tanh")
        self.fc2 = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:          # numpy has no bfloat16: reinterpret the bits
        t = t.view(torch.int16)
    return t.numpy().tobytes()             # little-endian on every machine torch runs on here


def save(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        buf = bytearray(data[8 + n + b: 8 + n + end])
        dtype = TORCH_DTYPES[e["dtype"]]
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(e["shape"])
    return out, meta


def make(path):
    torch.manual_seed(0)
    tiny, mlp = Tiny(), Mlp()
    with torch.no_grad():
        tiny.norm.weight.uniform_(0.5, 1.5)
        tiny.norm.bias.uniform_(-0.5, 0.5)
    x = torch.tensor([[0.5, -1.0, 2.0, 0.25], [-1.5, 0.75, 0.0, 1.0]])
    with torch.no_grad():
        io = {"io.input": x, "io.linear_out": tiny.linear(x), "io.tiny_out": tiny(x), "io.mlp_out": mlp(x)}
    tensors = {
        "dtypes.f32": torch.tensor([[-1.5, 0.0, 2.25], [1e-30, -3.0e38, 123.456]], dtype=torch.float32),
        "dtypes.f16": torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0 ** -24, 0.333251953125, float("inf")],
                                   dtype=torch.float16),
        "dtypes.bf16": torch.tensor([1.0, -2.0, 3.140625, 2.0 ** 100, -(2.0 ** -126), 2.0 ** -133],
                                    dtype=torch.bfloat16),
        "dtypes.f64": torch.tensor([0.1, -2.5], dtype=torch.float64),
        "dtypes.i64": torch.tensor([0, -1, 2 ** 40 + 1, 2 ** 53 + 1, -(2 ** 63)], dtype=torch.int64),
        "dtypes.i32": torch.tensor([[7, -8]], dtype=torch.int32),
        "dtypes.scalar": torch.tensor(3.5),
        "dtypes.empty": torch.zeros(0, 3),
    }
    tensors.update({"tiny." + k: v for k, v in tiny.state_dict().items()})
    tensors.update({"mlp." + k: v for k, v in mlp.state_dict().items()})
    tensors.update(io)
    save(path, tensors, {"format": "pt", "source": "make_torch_small.py", "torch": torch.__version__})
    back, _ = load(path)                   # self-check: the file reads back bit for bit
    for k, v in tensors.items():
        assert torch.equal(back[k], v), k
    print(f"wrote {path}: {len(tensors)} tensors")


def check(path, reference):
    tensors, meta = load(path)
    ref, _ = load(reference)
    print(f"{path}: metadata {meta}")
    for k, v in tensors.items():
        print(f"  {k}: {v.dtype} {tuple(v.shape)}")
    tiny, mlp = Tiny(), Mlp()
    tiny.load_state_dict({k[5:]: v.float() for k, v in tensors.items() if k.startswith("tiny.")}, strict=True)
    mlp.load_state_dict({k[4:]: v.float() for k, v in tensors.items() if k.startswith("mlp.")}, strict=True)
    x = ref["io.input"]
    with torch.no_grad():
        for name, got in [("io.tiny_out", tiny(x)), ("io.mlp_out", mlp(x))]:
            err = (got - ref[name]).abs().max().item()
            print(f"  {name}: max abs difference {err:.3g} from the PyTorch-made reference")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    reference = os.path.join(here, "torch_small.safetensors")
    if len(sys.argv) > 2 and sys.argv[1] == "--check":
        for p in sys.argv[2:]:
            check(p, reference)
    else:
        make(reference)
