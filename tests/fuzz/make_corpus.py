#!/usr/bin/env python3
"""Writes the seed corpora under corpus/<target>/ (hand-built ISAKMP messages, RFC 2408
layouts). Re-run after changing a message: python3 tests/fuzz/make_corpus.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ICKY = bytes.fromhex("0102030405060708")
RCKY = bytes.fromhex("a1a2a3a4a5a6a7a8")


def gen(np, body):
    return struct.pack("!BBH", np, 0, 4 + len(body)) + body


def header(np, exch, flags, msgid, body, rcky=RCKY):
    return ICKY + rcky + struct.pack("!BBBBII", np, 0x10, exch, flags, msgid, 28 + len(body)) + body


def chain(payloads):
    """payloads: list of (type, body). Returns (first type, bytes)."""
    out = b""
    for i, (_, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        out += gen(nxt, body)
    return payloads[0][0], out


def tv(t, v):
    return struct.pack("!HH", 0x8000 | t, v)


def tlv(t, data):
    return struct.pack("!HH", t, len(data)) + data


def transform(num, tid, attrs, last):
    body = struct.pack("!BBH", num, tid, 0) + b"".join(attrs)
    return gen(0 if last else 3, body)


def proposal(num, proto, spi, transforms, last):
    ts = b"".join(transform(*t, last=(i + 1 == len(transforms))) for i, t in enumerate(transforms))
    return gen(0 if last else 2, struct.pack("!BBBB", num, proto, len(spi), len(transforms)) + spi + ts)


def sa(proposals):
    ps = b"".join(proposal(*p, last=(i + 1 == len(proposals))) for i, p in enumerate(proposals))
    return struct.pack("!II", 1, 1) + ps


DPD_VID = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")
NATT_VID = bytes.fromhex("4a131c81070358455c5728f20e95452f")
P1_ATTRS = [tv(1, 7), tv(14, 128), tv(2, 2), tv(3, 1), tv(4, 14), tv(11, 1),
            tlv(12, struct.pack("!I", 86400))]
QM_ATTRS = [tv(1, 1), tlv(2, struct.pack("!I", 3600)), tv(4, 1), tv(5, 2), tv(6, 128)]
HASH = bytes(range(20))

CHAINS = {
    "mm1": (2, 0, 0, [(1, sa([(1, 1, b"", [(1, 1, P1_ATTRS)])])), (13, DPD_VID), (13, NATT_VID)]),
    "mm3": (2, 0, 0, [(4, bytes(64)), (10, bytes(range(20))), (20, bytes(20)), (20, bytes(20))]),
    "mm3_draft_nat": (2, 0, 0, [(4, bytes(8)), (10, bytes(16)), (130, bytes(20)),
                                (131, b"\x01\x00\x00\x00\xc0\xa8\x00\x01")]),
    "qm1": (32, 0, 0x11223344,
            [(8, HASH),
             (1, sa([(1, 3, b"\xc0\xff\xee\x01", [(1, 12, QM_ATTRS), (2, 3, [tv(4, 1), tv(5, 1)])])])),
             (10, bytes(16)),
             (5, b"\x04\x00\x00\x00\x0a\x00\x00\x00\xff\xff\xff\x00"),
             (5, b"\x04\x00\x00\x00\x0a\x01\x00\x00\xff\xff\xff\x00")]),
    "dpd_r_u_there": (5, 0, 0x7a3b9c01,
                      [(8, HASH), (11, struct.pack("!IBBH", 1, 1, 16, 36136) + ICKY + RCKY +
                                   struct.pack("!I", 0x1234abcd))]),
    "dpd_ack_notify_first": (5, 0, 0x0badf00d,
                             [(11, struct.pack("!IBBH", 1, 1, 16, 36137) + ICKY + RCKY +
                               struct.pack("!I", 0x1234abcd)), (8, HASH)]),
    "delete": (5, 0, 0x01020304,
               [(8, HASH), (12, struct.pack("!IBBH", 1, 3, 4, 2) + b"\x11" * 4 + b"\x22" * 4)]),
    "id_cert": (2, 0, 0, [(5, b"\x02\x11\x01\xf4vpn.example.com"), (6, b"\x04\x30\x82"),
                          (7, b"\x04"), (9, bytes(32))]),
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for name, (exch, flags, msgid, payloads) in CHAINS.items():
    first, body = chain(payloads)
    rcky = bytes(8) if name == "mm1" else RCKY
    msg = header(first, exch, flags, msgid, body, rcky)
    write("fuzz_message", name, msg)
    write("fuzz_payloads", name, bytes([first]) + body)
    if name in ("mm1", "qm1", "dpd_r_u_there"):
        write("fuzz_header", name, msg)
# An encrypted informational (the body is ciphertext to the codec) for the header target.
write("fuzz_header", "encrypted_info", header(8, 5, 1, 0x7a3b9c01, bytes(range(48))))

# fuzz_node: inputs in its operation language (see fuzz_node.cc). Setup byte: bit 0 target A,
# bit 1 DPD, bit 2 PFS, bits 3-6 handshake datagrams delivered first (11: established).
def node_setup(handshake, target_a=False, dpd=False, pfs=False):
    return bytes([(handshake << 3) | (4 if pfs else 0) | (2 if dpd else 0) | (1 if target_a else 0)])


def op_advance(tenths):  # op 3
    return bytes([3, tenths])


def op_next(n=1):  # op 4
    return bytes([4]) * n


def op_target(sel):  # op 5
    return bytes([5, sel])


def op_forge(flags, mid, nxt, tail):  # op 6
    return bytes([6, flags]) + struct.pack("!IBH", mid, nxt, len(tail)) + tail


def op_continue(idx, nxt=0, tail=b""):  # op 7
    return bytes([7, idx, nxt]) + struct.pack("!H", len(tail)) + tail


def op_reseal(idx, flags, mid, off=0, xor=0, cut=0):  # op 8
    return bytes([8, idx, flags]) + struct.pack("!IBBB", mid, off, xor, cut)


NODE = {
    "established": node_setup(11),
    "established_dpd_idle": node_setup(11, dpd=True) + op_advance(250),
    "established_pfs_rekey": node_setup(11, pfs=True, target_a=True) + op_target(0) + op_next(4),
    "qm1_resealed_new_mid": node_setup(11) + op_reseal(0, 1, 0x11223344),
    "qm1_resealed_mutated": node_setup(11) + op_reseal(0, 1, 0x55667788, 40, 0x01),
    "qm_continued": node_setup(11) + op_reseal(0, 1, 0x0badcafe) + op_continue(1),
    "dpd_round_resealed": node_setup(11, dpd=True) + op_advance(120) + op_reseal(1, 3, 0x7777),
    "cleared_delete_resealed": node_setup(11, target_a=True) + op_target(1) + op_next(2) +
    op_reseal(1, 1, 0x1234),
    "forged_notify": node_setup(11) + op_forge(2, 0x01010101, 11, gen(
        0, struct.pack("!IBBH", 1, 1, 0, 24576))),
    "forged_delete_isakmp": node_setup(11, target_a=True) + op_forge(0, 0x02020202, 12, gen(
        0, struct.pack("!IBBH", 1, 1, 16, 1) + ICKY + RCKY)),
    "forged_qm1_empty": node_setup(11) + op_forge(3, 0x03030303, 0, b""),
    "debug_on": node_setup(11, dpd=True) + op_target(7) + op_advance(200) + op_reseal(2, 1, 9),
}
for k in range(11):
    NODE["handshake_%d" % k] = node_setup(k) + op_next() + bytes([1, k, 30, 0x40])
for name, data in NODE.items():
    write("fuzz_node", name, data)

# fuzz_ikev2_session: inputs in its operation language (see fuzz_ikev2_session.cc). Setup
# byte: bits 0-2 stage (0 no responder yet .. 4 established, 5 liveness probes out, 6 Child
# SA Delete out), bit 3 AES-GCM-256, bit 4 DPD, bit 5 forced NAT-T, bit 6 debug, bit 7 the
# responder's DPD on-demand. Opcode byte:
# low 4 bits the operation, bit 4 the initiator's side.
def v2_setup(stage, gcm=False, dpd=False, natt=False, debug=False, on_demand=False):
    return bytes([stage | (8 if gcm else 0) | (16 if dpd else 0) | (32 if natt else 0) |
                  (64 if debug else 0) | (128 if on_demand else 0)])


V2_I = 0x10  # the initiator's side
V2_INFORMATIONAL, V2_CREATE_CHILD_SA = 3, 2  # 34 + n


def v2_raw(side, data, natt=False):  # op 0
    return bytes([side | 0, 1 if natt else 0]) + struct.pack("!H", len(data)) + data


def v2_respond_recorded(idx, off=0, xor=0, adopt=False):  # op 1
    return bytes([1, 2 if adopt else 0, idx, off, xor])


def v2_replay(idx, off=0, xor=0):  # op 2
    return bytes([2, idx, off, xor])


def v2_advance(tenths):  # op 3
    return bytes([3, tenths])


def v2_next(n=1):  # op 4
    return bytes([4]) * n


def v2_forge(side, exch, inner_first, inner, flags=0, mid_sel=0):  # op 5, from `side`
    return bytes([side | 5, exch, flags, mid_sel, inner_first]) + struct.pack("!H", len(inner)) + inner


def v2_reseal_xor(idx, off, xor):  # op 6, mode 0
    return bytes([6, idx, 0, off, xor, 0]) + struct.pack("!H", 0)


def v2_reseal_splice(idx, keep, nxt, tail):  # op 6, mode 1
    return bytes([6, idx, 1, keep, 0, nxt]) + struct.pack("!H", len(tail)) + tail


def v2_op(side, sel):  # op 7
    return bytes([side | 7, sel])


def v2_delete_esp(spi):  # Delete payload (42) body: ESP, SPI size 4, one SPI
    return gen(0, struct.pack("!BBHI", 3, 4, 1, spi))


V2_DELETE_IKE = gen(0, struct.pack("!BBH", 1, 0, 0))
# The initiator's Child SA: inbound SPI 0x1000 (its host's first), outbound at the responder.
V2 = {
    "handshake_settle": v2_setup(0) + bytes([10]),
    "handshake_gcm_natt": v2_setup(0, gcm=True, natt=True) + v2_next(4),
    "respond_recorded_init": v2_setup(0) + v2_respond_recorded(0, 40, 0x01, adopt=True),
    "auth_request_resealed": v2_setup(2) + v2_reseal_xor(0, 0, 0),
    "auth_request_without_child": v2_setup(2, gcm=True) + v2_reseal_splice(0, 2, 0, b""),
    "auth_response_mutated": v2_setup(3) + v2_reseal_xor(1, 60, 0x80),
    "auth_response_lost": v2_setup(3, dpd=True) + bytes([8]) + v2_advance(30) + v2_next(2),
    "forged_delete_child": v2_setup(4) + v2_forge(V2_I, V2_INFORMATIONAL, 42, v2_delete_esp(0x1000)),
    "forged_delete_ike": v2_setup(4, gcm=True) + v2_forge(0, V2_INFORMATIONAL, 42, V2_DELETE_IKE),
    "forged_create_child": v2_setup(4) + v2_forge(V2_I, V2_CREATE_CHILD_SA, 0, b""),
    "forged_stale_response": v2_setup(5, dpd=True) + v2_forge(0, V2_INFORMATIONAL, 0, b"", 0x20),
    "probes_unanswered": v2_setup(5, dpd=True, debug=True) + bytes([8, 8]) + v2_advance(255),
    "probe_answered_late": v2_setup(5, dpd=True) + v2_next() + v2_advance(30) + v2_next(3),
    "delete_child_answered": v2_setup(6, natt=True) + v2_next(2) + v2_op(V2_I, 0) + v2_next(),
    "on_demand_traffic_unanswered": v2_setup(4, dpd=True, on_demand=True) + v2_advance(110) +
    bytes([8]) + v2_op(0, 4) + v2_advance(120) + bytes([8, 8]) + v2_advance(120),
    "replayed_garbage": v2_setup(4) + v2_replay(1, 20, 0xff) + v2_raw(V2_I, bytes(40)),
}
for name, data in V2.items():
    write("fuzz_ikev2_session", name, data)
