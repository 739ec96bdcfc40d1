"""Independent check of pmpd-quantize's packed format: rebuilds every
projection from the bit-planes and tables with numpy, as the format comment
in include/pmpd/Quant/AnyPrecision.h describes it, and compares it with the
--export-dequantized model at the same width (written by other code)."""
import json
import sys

import numpy as np
from safetensors.numpy import load_file

packed_path, dequantized_path, bits = sys.argv[1], sys.argv[2], int(sys.argv[3])
packed = load_file(packed_path)
dequantized = load_file(dequantized_path)
with open(packed_path, "rb") as f:
    header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
meta = header["__metadata__"]
seed, parent = int(meta["pmpd.seed_bits"]), int(meta["pmpd.parent_bits"])
assert meta["pmpd.format"] == "any-precision", meta
assert seed <= bits <= parent

checked = 0
for name in sorted(packed):
    if not name.endswith(".qweight.planes"):
        continue
    prefix = name[: -len(".qweight.planes")]
    planes = packed[name]  # [parent, rows, ceil(cols / 8)]
    lut = packed[f"{prefix}.qweight.lut{bits}"].astype(np.float32)
    reference = dequantized[prefix + ".weight"].astype(np.float32)
    rows, cols = reference.shape
    assert planes.shape == (parent, rows, (cols + 7) // 8), planes.shape
    # Bit c of a row is bit c % 8 of byte c // 8 (little-endian bit order).
    unpacked = np.unpackbits(planes, axis=2, bitorder="little")[:, :, :cols]
    codes = np.zeros((rows, cols), dtype=np.int64)
    for j in range(bits):  # Plane 0 is the most significant bit.
        codes = (codes << 1) | unpacked[j]
    rebuilt = np.take_along_axis(lut, codes, axis=1)
    if not np.array_equal(rebuilt, reference):
        sys.exit(f"{prefix}: rebuilt weights differ from the export")
    checked += 1
    for b in range(seed, parent + 1):
        assert packed[f"{prefix}.qweight.lut{b}"].shape == (rows, 1 << b)
    assert prefix + ".weight" not in packed
print(f"checked {checked} packed projections at {bits} bits")
