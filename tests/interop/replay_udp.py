#!/usr/bin/env python3
"""Replays recorded UDP payloads, byte for byte, from the recorded source ports.

Usage: replay_udp.py SRC_IP DST_IP FILE SECONDS [GAP_MS]
FILE holds one datagram a line: "SRCPORT DSTPORT HEXPAYLOAD" (tshark -e udp.srcport
-e udp.dstport -e udp.payload). The whole list is sent in order, then reversed, then
shuffled (seeded), and again, with GAP_MS between datagrams, until SECONDS have passed.
Bounded: at most 20000 datagrams, only to DST_IP (an address inside the test's namespaces).
"""
import random
import socket
import sys
import time


def main():
    src, dst, path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    gap = float(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0.05
    recs = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            recs.append((int(parts[0]), int(parts[1]), bytes.fromhex(parts[2].replace(":", ""))))
    if not recs:
        print("replay: nothing to replay", flush=True)
        return 1
    socks = {}
    for sport in sorted({r[0] for r in recs}):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        socks[sport] = s
    rng = random.Random(7)
    end = time.monotonic() + seconds
    sent = 0
    round_no = 0
    while time.monotonic() < end and sent < 20000:
        order = list(recs)
        if round_no % 3 == 1:
            order.reverse()
        elif round_no % 3 == 2:
            rng.shuffle(order)
        round_no += 1
        for sport, dport, payload in order:
            if time.monotonic() >= end or sent >= 20000:
                break
            socks[sport].sendto(payload, (dst, dport))
            sent += 1
            time.sleep(gap)
    print(f"replay: {sent} datagrams in {round_no} rounds from {len(recs)} recorded", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
