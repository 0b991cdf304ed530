"""Minimal safetensors writer/reader (the format is an 8-byte little-endian header length, a JSON
header, then the raw tensor bytes), so the scripts need only torch and numpy. Debian's
python3-torch has no safetensors package; on PyPI installs `safetensors.torch` works the same."""
import json
import struct

import numpy as np


def save(tensors, path, metadata=None):
    """tensors: dict name -> numpy array (float32). Writes in sorted key order; `metadata`
    (dict str -> str) becomes the header's `__metadata__`."""
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns dict name -> float32 numpy array (F32 files only)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + s:8 + n + e], dtype=np.float32).reshape(info["shape"])
    return out


def state_dict_arrays(state_dict):
    """A torch state_dict as float32 numpy arrays, without integer buffers (num_batches_tracked)."""
    return {k: v.detach().cpu().float().numpy() for k, v in state_dict.items() if v.is_floating_point()}
