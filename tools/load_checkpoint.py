#!/usr/bin/python3
"""Loads a hyperclip checkpoint into the PyTorch reference model (tools/torch_reference.py) with
load_state_dict(strict=True): the checkpoint's tensor names are the state-dict names, 1:1.

    /usr/bin/python3 tools/load_checkpoint.py runs/demo/hyper/last.safetensors

Prints the configuration, the number of tensors loaded and the optimiser entries skipped. Uses only
torch and the standard library (the safetensors package works too, where it is installed).
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference  # noqa: E402

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, h in header.items():
        begin, end = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[h["dtype"]]) if end > begin else torch.empty(0)
        tensors[name] = t.reshape(h["shape"])
    return tensors, meta


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tensors, meta = read_safetensors(sys.argv[1])
    if meta.get("format") != "hyperclip-checkpoint":
        sys.exit(f"{sys.argv[1]}: not a hyperclip checkpoint")
    cfg = json.loads(meta["model"])
    if cfg["mode"] == "token":
        sys.exit("the PyTorch reference model has no token mode")
    model = torch_reference.HyperCLIP(cfg)
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model.load_state_dict(state, strict=True)
    skipped = len(tensors) - len(state)
    print(json.dumps({"config": cfg, "loaded": len(state), "optimizer_tensors_skipped": skipped,
                      "train": json.loads(meta["train"])["step"]}))


if __name__ == "__main__":
    main()
