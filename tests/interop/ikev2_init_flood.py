#!/usr/bin/env python3
"""ikev2_init_flood.py: well-formed IKEv2 IKE_SA_INIT requests for the lab
(tests/interop/ikev2_cookie.sh), each with a fresh initiator SPI and nonce.

Proposal: AES-CBC-128, PRF-HMAC-SHA2-256, HMAC-SHA2-256-128, group 14 (what the lab's
responders accept). The KE value is 2^k (k random, 2^k < p): an element of group 14's prime
order subgroup, so a responder's DH succeeds without us knowing the prime.

Two modes:
  SRC_PREFIX "-"   a plain UDP socket from this namespace's own address, port 500 (no
                   forging): e.g. one half-open SA on a responder.
  SRC_PREFIX a.b.c.  a raw IPv4 socket (IP_HDRINCL), each packet from one of SOURCES forged
                   addresses a.b.c.FIRST .. a.b.c.(FIRST+SOURCES-1).
Bounded: COUNT packets at most, RATE a second, never longer than MAX_SECONDS. Lab only: the
destination must be inside a namespace the test created.

usage: ikev2_init_flood.py DST SRC_PREFIX FIRST SOURCES COUNT RATE MAX_SECONDS
"""
import os
import random
import socket
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
import labflood  # noqa: E402


def transform(last: bool, ttype: int, tid: int, attrs: bytes = b"") -> bytes:
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), ttype, 0, tid) + attrs


def ike_sa_init(spi_i: bytes, rng: random.Random) -> bytes:
    ts = b"".join([
        transform(False, 1, 12, struct.pack("!HH", 0x800E, 128)),  # ENCR_AES_CBC, 128 bits
        transform(False, 2, 5),                                    # PRF_HMAC_SHA2_256
        transform(False, 3, 12),                                   # AUTH_HMAC_SHA2_256_128
        transform(True, 4, 14),                                    # DH group 14
    ])
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(ts), 1, 1, 0, 4) + ts
    sa = struct.pack("!BBH", 34, 0, 4 + len(proposal)) + proposal           # next: KE
    y = (1 << rng.randrange(64, 2000)).to_bytes(256, "big")
    ke = struct.pack("!BBHHH", 40, 0, 8 + len(y), 14, 0) + y                # next: Nonce
    ni = os.urandom(32)
    nonce = struct.pack("!BBH", 0, 0, 4 + len(ni)) + ni
    body = sa + ke + nonce
    hdr = spi_i + bytes(8) + struct.pack("!BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(body))
    return hdr + body


def main() -> int:
    dst, prefix, first, sources, count, rate, max_s = labflood.parse_args(__doc__, 200_000, 50_000, 120)
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    forged = prefix != "-"
    if forged:
        forger = labflood.Forger(dst, prefix, first, sources)
        send = forger.send
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 500))
        send = lambda _n, payload: s.sendto(payload, (dst, 500))  # noqa: E731
    sent, el = labflood.paced(count, rate, max_s,
                              lambda n: send(n, ike_sa_init(b"\xf2" + os.urandom(7), rng)))
    print(f"sent {sent} IKE_SA_INIT from {'forged' if forged else 'own'} sources in {el:.2f} s "
          f"({sent / el:.0f}/s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
