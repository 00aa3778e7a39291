#!/usr/bin/env python3
"""mm1_flood.py: forged IKEv1 Main Mode 1 packets for the lab (tests/interop/flood.sh).

Raw IPv4 socket (IP_HDRINCL): each packet claims one of SOURCES addresses of the lab subnet
as its source. Bounded: COUNT packets at most, RATE a second, and never longer than
MAX_SECONDS. Lab only: the destination must be inside a namespace the test created.
The proposal is one a lab responder accepts (AES-128, SHA-1, pre-shared key, group 14).

usage: mm1_flood.py DST SRC_PREFIX FIRST_HOST SOURCES COUNT RATE MAX_SECONDS
  e.g. mm1_flood.py 192.0.2.1 192.0.2. 20 200 100000 5000 60
"""
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import labflood  # noqa: E402


def mm1(icookie: bytes) -> bytes:
    attrs = b"".join([
        struct.pack("!HH", 0x8001, 7),      # encryption AES-CBC
        struct.pack("!HH", 0x800E, 128),    # key length
        struct.pack("!HH", 0x8002, 2),      # hash SHA
        struct.pack("!HH", 0x8003, 1),      # authentication pre-shared key
        struct.pack("!HH", 0x8004, 14),     # group 14
        struct.pack("!HH", 0x800B, 1),      # life type seconds
        struct.pack("!HHI", 0x000C, 4, 86400),
    ])
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attrs), 1, 1, 0) + attrs
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
    sa = struct.pack("!BBHII", 0, 0, 12 + len(proposal), 1, 1) + proposal
    hdr = icookie + bytes(8) + struct.pack("!BBBBII", 1, 0x10, 2, 0, 0, 28 + len(sa))
    return hdr + sa


def main() -> int:
    dst, prefix, first, sources, count, rate, max_s = labflood.parse_args(__doc__, 1_000_000, 100_000, 300)
    forger = labflood.Forger(dst, prefix, first, sources)
    sent, el = labflood.paced(count, rate, max_s,
                              lambda n: forger.send(n, mm1(b"\xf1" + os.urandom(7))))
    print(f"sent {sent} forged MM1 from {sources} sources in {el:.2f} s ({sent / el:.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
