"""labflood.py: what the lab's flood tools share (tests/lab/mm1_flood.py,
tests/interop/ikev2_init_flood.py): their command line, forged IKE datagrams from a raw IPv4
socket, and a paced, bounded send loop.

Lab only: the destination must be inside a namespace the test created.
"""
import socket
import struct
import sys
import time


def parse_args(doc: str, max_count: int, max_rate: int, max_seconds: int):
    """DST SRC_PREFIX FIRST SOURCES COUNT RATE MAX_SECONDS from argv, within the tool's bounds;
    exits with status 2 (after saying why) when they are not."""
    if len(sys.argv) != 8:
        print(doc, file=sys.stderr)
        sys.exit(2)
    dst, prefix = sys.argv[1], sys.argv[2]
    first, sources, count, rate, max_s = (int(x) for x in sys.argv[3:])
    if not (1 <= sources <= 250 and count <= max_count and rate <= max_rate
            and max_s <= max_seconds):
        print("limits exceeded", file=sys.stderr)
        sys.exit(2)
    return dst, prefix, first, sources, count, rate, max_s


class Forger:
    """UDP 500 -> 500 datagrams from forged sources PREFIX+FIRST .. PREFIX+(FIRST+SOURCES-1),
    in turn, through a raw IPv4 socket (IP_HDRINCL)."""

    def __init__(self, dst: str, prefix: str, first: int, sources: int):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        self.srcs = [socket.inet_aton(prefix + str(first + i)) for i in range(sources)]
        self.dst = dst
        self.dst_b = socket.inet_aton(dst)

    def send(self, n: int, payload: bytes) -> None:
        udp = struct.pack("!HHHH", 500, 500, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         self.srcs[n % len(self.srcs)], self.dst_b)
        self.s.sendto(ip + udp, (self.dst, 0))


def paced(count: int, rate: int, max_s: int, send_one) -> tuple:
    """Calls send_one(n) for n = 0, 1, ... at RATE a second (100 batches a second), COUNT times
    at most and for MAX_S seconds at most; a send's OSError is ignored. Returns (sent, seconds)."""
    t0 = time.monotonic()
    sent = 0
    batch = max(1, rate // 100)
    while sent < count and time.monotonic() - t0 < max_s:
        for _ in range(min(batch, count - sent)):
            try:
                send_one(sent)
            except OSError:
                pass
            sent += 1
        ahead = t0 + sent / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    return sent, max(time.monotonic() - t0, 1e-6)
