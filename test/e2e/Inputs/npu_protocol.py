"""Speaks the NPU offload protocol (include/pmpd/Runtime/NPUProtocol.h) to a
hexagon artifact's program under qemu-hexagon, with the requests a correct
host never sends: the program must refuse them itself and keep serving.

usage: npu_protocol.py ART_DIR
"""
import json
import os
import struct
import subprocess
import sys

art = sys.argv[1]
manifest = json.load(open(os.path.join(art, "manifest.json")))
weights = os.path.join(art, manifest["weights"])
proc = subprocess.Popen(
    ["qemu-hexagon", os.path.join(art, manifest["library"]), weights,
     str(os.path.getsize(weights))],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE)

hello = proc.stdout.read(72)
magic, status = hello[:8], struct.unpack("<i", hello[8:12])[0]
geometry = struct.unpack("<7q", hello[16:])
print("hello", magic.decode(), status, geometry)
vocab, positions = geometry[4], geometry[1]


def request(op, a=0, b=0, c=0, ids=()):
    proc.stdin.write(struct.pack("<2i3q", op, 0, a, b, c))
    for i in ids:
        proc.stdin.write(struct.pack("<q", i))
    proc.stdin.flush()
    status, bits, rows, cols = struct.unpack("<2i2q", proc.stdout.read(24))
    if status == 0 and rows:
        proc.stdout.read(rows * cols * 4)
    return status, bits, rows, cols


print("decode id=vocab", request(2, 0, 0, vocab))
print("decode position=cache", request(2, 0, positions, 1))
print("prefill past the cache", request(1, positions - 1, 2, 0, [1, 1]))
print("prefill id=-1", request(1, 0, 2, 0, [1, -1]))
print("unknown op", request(7))
print("reset", request(3))
print("prefill", request(1, 0, 2, 0, [1, 2]))
print("decode", request(2, 0, 2, 3))
proc.stdin.write(struct.pack("<2i3q", 0, 0, 0, 0, 0))
proc.stdin.flush()
print("quit", proc.wait())

# A prefill count the cache cannot hold: its ids would be unread, so the
# program refuses and ends.
proc = subprocess.Popen(proc.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
proc.stdout.read(72)
print("prefill count=0", request(1, 0, 0))
print("exit", proc.wait())
