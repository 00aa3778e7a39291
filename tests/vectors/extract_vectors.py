#!/usr/bin/env python3
"""Builds one tests/vectors/<proposal>.vec file from a lab run of two strongSwan peers.

Inputs: the tcpdump capture (UDP 500/4500 on the initiator's WAN interface) and both charon
file logs written with ike=4 chd=4 enc>=1 net>=1 (see gen_vectors.sh). Output: the `key = value`
vector format described in tests/vectors/README.md.

Values are taken from the packets where they travel in clear (cookies, SAi_b, KE, nonces) and
from the initiator's charon log for secrets (g^xy, SKEYID*, Ka, IVs, child keys). The script
cross-checks everything it can with Python's hashlib/hmac (independently of ikepulse's crypto)
and with the responder's log, and fails loudly on any mismatch.

Lab only: the keys in the logs are test keys of throw-away SAs.
"""

import argparse
import hashlib
import hmac
import re
import struct
import sys

HASHES = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256,
          "sha384": hashlib.sha384, "sha512": hashlib.sha512}
# name in the proposal string -> (vector cipher name, key length, block size)
CIPHERS = {"aes128": ("aes128-cbc", 16, 16), "aes192": ("aes192-cbc", 24, 16),
           "aes256": ("aes256-cbc", 32, 16), "3des": ("3des-cbc", 24, 8)}
GROUPS = {"modp768": 1, "modp1024": 2, "modp1536": 5, "modp2048": 14, "modp3072": 15,
          "modp4096": 16, "ecp256": 19, "ecp384": 20, "ecp521": 21}
# ESP integrity: name -> (vector name, key length)
ESP_INTEG = {"sha1": ("hmac-sha1-96", 20), "sha256": ("hmac-sha256-128", 32),
             "md5": ("hmac-md5-96", 16), "sha384": ("hmac-sha384-192", 48),
             "sha512": ("hmac-sha512-256", 64)}
EXCHANGES = {2: "ID_PROT", 4: "AGGRESSIVE", 5: "INFORMATIONAL", 6: "TRANSACTION",
             32: "QUICK_MODE"}


def die(msg):
    print("extract_vectors: ERROR: " + msg, file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------------------------
# pcap

def read_pcap(path):
    """Yields (ts, src_ip, dst_ip, sport, dport, udp_payload) for IPv4/UDP packets."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        die("not a pcap file: " + path)
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:  # Ethernet
            eth_type = struct.unpack(">H", frame[12:14])[0]
            l3 = frame[14:]
        elif linktype == 113:  # Linux cooked
            eth_type = struct.unpack(">H", frame[14:16])[0]
            l3 = frame[16:]
        elif linktype == 101:  # raw IP
            eth_type, l3 = 0x0800, frame
        else:
            die("unsupported link type %d" % linktype)
        if eth_type != 0x0800 or len(l3) < 20:
            continue
        ihl = (l3[0] & 0x0F) * 4
        if l3[9] != 17:
            continue
        total = struct.unpack(">H", l3[2:4])[0]
        src = ".".join(str(b) for b in l3[12:16])
        dst = ".".join(str(b) for b in l3[16:20])
        udp = l3[ihl:total]
        sport, dport, ulen = struct.unpack(">HHH", udp[:6])
        yield ts, src, dst, sport, dport, bytes(udp[8:ulen])


# --------------------------------------------------------------------------------------------
# ISAKMP (clear part only)

def parse_header(msg):
    if len(msg) < 28:
        die("short ISAKMP message")
    cky_i, cky_r = msg[0:8], msg[8:16]
    np_, ver, exch, flags = msg[16], msg[17], msg[18], msg[19]
    mid, length = struct.unpack(">II", msg[20:28])
    return dict(cky_i=cky_i, cky_r=cky_r, np=np_, ver=ver, exch=exch, flags=flags, mid=mid,
                length=length)


def clear_payloads(msg):
    """[(type, body)] of an unencrypted message."""
    h = parse_header(msg)
    out, np_, off = [], h["np"], 28
    while np_ != 0:
        if off + 4 > len(msg):
            die("truncated payload chain")
        nxt, _res, plen = struct.unpack(">BBH", msg[off:off + 4])
        out.append((np_, msg[off + 4:off + plen]))
        np_, off = nxt, off + plen
    return out


def body_of(payloads, ptype):
    for t, b in payloads:
        if t == ptype:
            return b
    return None


# --------------------------------------------------------------------------------------------
# charon file log

LINE_RE = re.compile(r"^(\S+) (\d+)\[(\w+)\] (?:<[^>]*> )?(.*)$")
DUMP_RE = re.compile(r"^\s*(\d+): ((?:[0-9A-F]{2} ){1,16})")
BLOB_RE = re.compile(r"^(.*\S) => (\d+) bytes @ \S+$")


class CharonLog:
    """Parsed file log: a list of (time, thread, group, text) lines and of byte blobs."""

    def __init__(self, path):
        self.lines = []
        self.blobs = []  # (index into lines, group, label, bytes, thread)
        with open(path, errors="replace") as f:
            raw = [l.rstrip("\n") for l in f]
        i = 0
        while i < len(raw):
            m = LINE_RE.match(raw[i])
            if not m:
                i += 1
                continue
            t, thread, group, text = m.groups()
            self.lines.append((t, thread, group, text))
            b = BLOB_RE.match(text)
            if b:
                label, n = b.group(1), int(b.group(2))
                data = bytearray()
                j = i + 1
                while len(data) < n and j < len(raw):
                    m2 = LINE_RE.match(raw[j])
                    if not m2 or m2.group(2) != thread:
                        break
                    d = DUMP_RE.match(m2.group(4))
                    if not d or int(d.group(1)) != len(data):
                        break
                    data += bytes.fromhex(d.group(2).replace(" ", ""))
                    j += 1
                if len(data) != n:
                    die("%s: incomplete dump for '%s' (%d of %d bytes)" % (path, label, len(data), n))
                self.blobs.append((len(self.lines) - 1, group, label, bytes(data), thread))
                i = j
                continue
            i += 1

    def blob(self, label, group=None, nth=0, required=True):
        hits = [b for b in self.blobs if b[2] == label and (group is None or b[1] == group)]
        if len(hits) <= nth:
            if required:
                die("log has no '%s' (#%d)" % (label, nth))
            return None
        return hits[nth][3]

    def sent_encryptions(self):
        """{ciphertext: (iv, plain, padding)} from the sender's enc=3 dumps, which come in the
        order IV, plain, padding, encrypted on one thread for every message it encrypts."""
        out = {}
        for k, (_i, g, label, data, th) in enumerate(self.blobs):
            if g != "ENC" or label != "encrypted" or k < 3:
                continue
            prev = [b for b in self.blobs[max(0, k - 8):k] if b[4] == th and b[1] == "ENC"][-3:]
            if [b[2] for b in prev] == ["IV", "plain", "padding"]:
                out[data] = (prev[0][3], prev[1][3], prev[2][3])
        return out

    def all_blobs(self, label):
        return [b for b in self.blobs if b[2] == label]

    def grep(self, regex):
        r = re.compile(regex)
        return [(l, r.search(l[3])) for l in self.lines if r.search(l[3])]


# --------------------------------------------------------------------------------------------

def prf(hname, key, *data):
    return hmac.new(key, b"".join(data), HASHES[hname]).digest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--log-i", required=True, help="initiator charon log")
    ap.add_argument("--log-r", required=True, help="responder charon log")
    ap.add_argument("--proposal", required=True)
    ap.add_argument("--esp", required=True)
    ap.add_argument("--psk", required=True)
    ap.add_argument("--initiator", required=True)
    ap.add_argument("--responder", required=True)
    ap.add_argument("--version", default="strongSwan 5.9.8")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    enc_name, hname, group_name = a.proposal.split("-")
    cipher, key_len, block = CIPHERS[enc_name]
    group = GROUPS[group_name]
    esp_enc, esp_integ = a.esp.split("-")
    esp_cipher, esp_key_len, _ = CIPHERS[esp_enc]
    esp_integ_name, esp_integ_len = ESP_INTEG[esp_integ]
    psk = a.psk.encode()

    li, lr = CharonLog(a.log_i), CharonLog(a.log_r)

    # ---- packets, in capture order
    packets = []
    for ts, src, dst, sport, dport, payload in read_pcap(a.pcap):
        if {src, dst} != {a.initiator, a.responder}:
            continue
        port = dport if dport in (500, 4500) else sport
        if port == 4500:
            if len(payload) == 1 and payload[0] == 0xFF:
                continue  # NAT-T keepalive
            if payload[:4] != b"\0\0\0\0":
                continue  # ESP in UDP
            payload = payload[4:]
        d = "i2r" if src == a.initiator else "r2i"
        packets.append(dict(ts=ts, dir=d, port=port, sport=sport, dport=dport, msg=payload,
                            hdr=parse_header(payload)))
    if not packets:
        die("no ISAKMP packets in capture")

    # ---- message kinds from the logs: each sender logs
    #   "generating <EXCH> request|response <MID> [ <payloads> ]"
    # for every message it builds; packet k of (sender, exchange, MID) is the k-th such line.
    exch_names = {2: "ID_PROT", 5: "INFORMATIONAL_V1", 32: "QUICK_MODE", 6: "TRANSACTION"}
    generated = {}  # (dir, exchange name, mid) -> [payload summary, ...]
    for d, log in (("i2r", li), ("r2i", lr)):
        for _l, m in log.grep(r"^generating (\S+) (?:request|response) (\d+) \[ (.*) \]$"):
            generated.setdefault((d, m.group(1), int(m.group(2))), []).append(m.group(3))
    used = {}
    mm_count, qm_count = 0, {}
    for p in packets:
        h = p["hdr"]
        key = (p["dir"], exch_names.get(h["exch"], "?"), h["mid"])
        k = used.get(key, 0)
        used[key] = k + 1
        lst = generated.get(key, [])
        # A retransmission is byte-identical to an earlier packet and has no log line of its own.
        s = lst[k] if k < len(lst) else None
        p["log_summary"] = s
        if h["exch"] == 2:
            mm_count += 1
            p["kind"] = "MM%d" % mm_count
        elif h["exch"] == 32:
            qm_count[h["mid"]] = qm_count.get(h["mid"], 0) + 1
            p["kind"] = "QM%d" % qm_count[h["mid"]]
        elif h["exch"] == 5:
            s = s or "?"
            if "N(DPD_ACK)" in s:
                p["kind"] = "R_U_THERE_ACK"
            elif "N(DPD)" in s:
                p["kind"] = "R_U_THERE"
            elif "D" in s.split():
                p["kind"] = "DELETE"
            else:
                p["kind"] = "INFORMATIONAL"
        else:
            p["kind"] = EXCHANGES.get(h["exch"], "EXCHANGE_%d" % h["exch"])

    mm = [p for p in packets if p["hdr"]["exch"] == 2]
    if len(mm) < 6:
        die("expected 6 Main Mode packets, got %d" % len(mm))
    # Use the first copy of each MM message (ignore retransmissions if any).
    cky_i, cky_r = mm[1]["hdr"]["cky_i"], mm[1]["hdr"]["cky_r"]
    mm1, mm2, mm3, mm4 = (clear_payloads(mm[k]["msg"]) for k in range(4))
    sai_b = body_of(mm1, 1)
    gxi, ni_b = body_of(mm3, 4), body_of(mm3, 10)
    gxr, nr_b = body_of(mm4, 4), body_of(mm4, 10)
    if None in (sai_b, gxi, ni_b, gxr, nr_b):
        die("missing SA/KE/Nonce in MM1-MM4")

    # ---- secrets from the initiator's log; cross-check with the responder's
    gxy = li.blob("shared Diffie Hellman secret")
    keys = {}
    for label in ("SKEYID", "SKEYID_d", "SKEYID_a", "SKEYID_e", "encryption key Ka", "initial IV"):
        keys[label] = li.blob(label, "IKE")
        other = lr.blob(label, "IKE")
        if other != keys[label]:
            die("initiator and responder logs disagree on " + label)
    if lr.blob("shared Diffie Hellman secret") != gxy:
        die("initiator and responder disagree on g^xy")
    hash_i_data, hash_i = li.blob("HASH_I data"), li.blob("HASH_I")
    hash_r_data, hash_r = li.blob("HASH_R data"), li.blob("HASH_R")

    # ---- independent checks (Python hashlib/hmac)
    skeyid = prf(hname, psk, ni_b, nr_b)
    sk_d = prf(hname, skeyid, gxy, cky_i, cky_r, b"\0")
    sk_a = prf(hname, skeyid, sk_d, gxy, cky_i, cky_r, b"\1")
    sk_e = prf(hname, skeyid, sk_a, gxy, cky_i, cky_r, b"\2")
    ka = sk_e
    if len(ka) < key_len:
        ka, k = b"", b"\0"
        while len(ka) < key_len:
            k = prf(hname, sk_e, k)
            ka += k
    ka = ka[:key_len]
    iv0 = HASHES[hname](gxi + gxr).digest()[:block]
    for name, mine, logged in (("SKEYID", skeyid, keys["SKEYID"]), ("SKEYID_d", sk_d, keys["SKEYID_d"]),
                               ("SKEYID_a", sk_a, keys["SKEYID_a"]), ("SKEYID_e", sk_e, keys["SKEYID_e"]),
                               ("Ka", ka, keys["encryption key Ka"]), ("IV0", iv0, keys["initial IV"])):
        if mine != logged:
            die("%s recomputed %s != logged %s" % (name, mine.hex(), logged.hex()))
    prefix = gxi + gxr + cky_i + cky_r + sai_b
    if not hash_i_data.startswith(prefix):
        die("HASH_I data does not start with g^xi|g^xr|CKY-I|CKY-R|SAi_b")
    idii_b = hash_i_data[len(prefix):]
    prefix_r = gxr + gxi + cky_r + cky_i + sai_b
    if not hash_r_data.startswith(prefix_r):
        die("HASH_R data does not start with g^xr|g^xi|CKY-R|CKY-I|SAi_b")
    idir_b = hash_r_data[len(prefix_r):]
    if prf(hname, skeyid, hash_i_data) != hash_i or prf(hname, skeyid, hash_r_data) != hash_r:
        die("HASH_I/HASH_R do not recompute")

    # ---- quick mode
    qm_mids = sorted({p["hdr"]["mid"] for p in packets if p["hdr"]["exch"] == 32},
                     key=lambda m: [p["hdr"]["mid"] for p in packets].index(m))
    qm = {}
    if qm_mids:
        qm["mid"] = qm_mids[0]
        for n in (1, 2, 3):
            v = li.blob("Hash(%d)" % n, "IKE", required=False)
            if v is not None:
                qm["hash%d" % n] = v
        seed_i = li.blob("initiator SA seed", "CHD", required=False)
        seed_r = li.blob("responder SA seed", "CHD", required=False)
        if seed_i is not None and seed_r is not None:
            # seed = protocol(1) | SPI(4) | Ni_b | Nr_b ; nonces of equal length (strongSwan 32)
            proto = seed_i[0]
            nonces = seed_i[5:]
            if seed_r[5:] != nonces:
                die("initiator/responder SA seeds carry different nonces")
            half = len(nonces) // 2
            qm.update(protocol=proto, spi_for_i2r=seed_i[1:5], spi_for_r2i=seed_r[1:5],
                      ni_b=nonces[:half], nr_b=nonces[half:], seed_i2r=seed_i, seed_r2i=seed_r)
            for k, label in (("enc_key_i2r", "encryption initiator key"),
                             ("enc_key_r2i", "encryption responder key"),
                             ("integ_key_i2r", "integrity initiator key"),
                             ("integ_key_r2i", "integrity responder key")):
                qm[k] = li.blob(label, "CHD")
                if lr.blob(label, "CHD") != qm[k]:
                    die("initiator and responder disagree on " + label)
            # KEYMAT check: K1 = prf(SKEYID_d, seed), K2 = prf(SKEYID_d, K1 | seed) ...
            for d in ("i2r", "r2i"):
                need = len(qm["enc_key_" + d]) + len(qm["integ_key_" + d])
                km, k = b"", b""
                while len(km) < need:
                    k = prf(hname, sk_d, k, qm["seed_" + d])
                    km += k
                if km[:need] != qm["enc_key_" + d] + qm["integ_key_" + d]:
                    die("child KEYMAT (%s) does not recompute" % d)

    # IVs as charon logged them (initiator side, in log order)
    iv_log = []
    for idx, _g, label, data, _th in li.blobs:
        m = re.match(r"^next IV for MID (\d+)$", label)
        if m:
            iv_log.append((int(m.group(1)), data))

    # Per encrypted packet: the IV and the plaintext (before padding) its sender logged.
    enc_i, enc_r = li.sent_encryptions(), lr.sent_encryptions()
    for p in packets:
        if p["hdr"]["flags"] & 1:
            p["enc"] = (enc_i if p["dir"] == "i2r" else enc_r).get(p["msg"][28:])

    floated = any(p["port"] == 4500 for p in packets)
    first_4500 = next((p["kind"] for p in packets if p["port"] == 4500), None)

    # ---- write
    out = []
    w = out.append
    w("# ikepulse IKEv1 interop test vector: one Main Mode + Quick Mode + DPD + Delete")
    w("# between two %s peers (initiator %s, responder %s)," % (a.version, a.initiator, a.responder))
    w("# generated by tests/vectors/gen_vectors.sh (lab only; the PSK is a test secret).")
    w("# Format: `key = value`, one per line; values are lowercase hex unless noted.")
    w("# Clear values come from the capture; secrets and IVs from charon's ike=4/chd=4 log,")
    w("# cross-checked with Python hashlib/hmac and with the responder's log.")
    w("")
    w("proposal = " + a.proposal)
    w("esp_proposal = " + a.esp)
    w("ike.cipher = " + cipher)
    w("ike.key_length = %d" % key_len)
    w("ike.block_size = %d" % block)
    w("ike.hash = " + hname)
    w("ike.prf = hmac-" + hname)
    w("ike.dh_group = %d" % group)
    w("esp.cipher = " + esp_cipher)
    w("esp.enc_key_length = %d" % esp_key_len)
    w("esp.integ = " + esp_integ_name)
    w("esp.integ_key_length = %d" % esp_integ_len)
    w("initiator.addr = " + a.initiator)
    w("responder.addr = " + a.responder)
    w("# PSK (text: %s)" % a.psk)
    w("psk = " + psk.hex())
    w("")
    w("# NAT-T: there is no NAT, but kernel-libipsec makes strongSwan force UDP encapsulation,")
    w("# so it fakes NAT detection and both peers float to UDP 4500 starting with %s." % first_4500
      if floated else "# NAT-T: the peers stayed on UDP 500.")
    w("nat_t.floated = %s" % ("yes" if floated else "no"))
    if floated:
        w("nat_t.first_on_4500 = %s" % first_4500)
    w("")
    w("# Phase 1 (Main Mode, PSK)")
    w("cky_i = " + cky_i.hex())
    w("cky_r = " + cky_r.hex())
    w("# SAi_b: body of the initiator's SA payload in MM1")
    w("sai_b = " + sai_b.hex())
    w("# Nonce and KE payload bodies from MM3 (initiator) and MM4 (responder)")
    w("ni_b = " + ni_b.hex())
    w("nr_b = " + nr_b.hex())
    w("gxi = " + gxi.hex())
    w("gxr = " + gxr.hex())
    w("# from the log: 'shared Diffie Hellman secret', 'SKEYID', ..., 'encryption key Ka'")
    w("gxy = " + gxy.hex())
    w("skeyid = " + keys["SKEYID"].hex())
    w("skeyid_d = " + keys["SKEYID_d"].hex())
    w("skeyid_a = " + keys["SKEYID_a"].hex())
    w("skeyid_e = " + keys["SKEYID_e"].hex())
    w("enc_key = " + keys["encryption key Ka"].hex())
    w("# 'initial IV' = hash(g^xi | g^xr) truncated to the block size")
    w("phase1_iv = " + keys["initial IV"].hex())
    w("# ID payload bodies (tail of the logged 'HASH_I data' / 'HASH_R data')")
    w("idii_b = " + idii_b.hex())
    w("idir_b = " + idir_b.hex())
    w("hash_i = " + hash_i.hex())
    w("hash_r = " + hash_r.hex())
    if qm:
        w("")
        w("# Quick Mode (PFS off). HASH(n) as logged by the initiator.")
        w("qm.mid = %d" % qm["mid"])
        for n in (1, 2, 3):
            if "hash%d" % n in qm:
                w("qm.hash%d = %s" % (n, qm["hash%d" % n].hex()))
        if "ni_b" in qm:
            w("# From the logged SA seeds: protocol(1) | SPI(4) | Ni_b | Nr_b")
            w("qm.ni_b = " + qm["ni_b"].hex())
            w("qm.nr_b = " + qm["nr_b"].hex())
            w("child.protocol = %d" % qm["protocol"])
            w("# SPI of the initiator->responder SA (chosen by the responder) and its keys")
            w("child.spi_i2r = " + qm["spi_for_i2r"].hex())
            w("child.enc_key_i2r = " + qm["enc_key_i2r"].hex())
            w("child.integ_key_i2r = " + qm["integ_key_i2r"].hex())
            w("# SPI of the responder->initiator SA (chosen by the initiator) and its keys")
            w("child.spi_r2i = " + qm["spi_for_r2i"].hex())
            w("child.enc_key_r2i = " + qm["enc_key_r2i"].hex())
            w("child.integ_key_r2i = " + qm["integ_key_r2i"].hex())
    w("")
    w("# IVs as the initiator's charon logged them ('next IV for MID n'), in log order. For")
    w("# debugging only: charon logs the IV it will use next, after each en/decryption.")
    w("iv_log.count = %d" % len(iv_log))
    for n, (mid, data) in enumerate(iv_log, 1):
        w("iv_log.%d.mid = %d" % (n, mid))
        w("iv_log.%d = %s" % (n, data.hex()))
    w("")
    w("# Every ISAKMP message of the negotiation, in capture order. packet.N is the UDP payload")
    w("# without the 4-byte non-ESP marker on port 4500. kind: MM1-MM6, QM1-QM3, R_U_THERE,")
    w("# R_U_THERE_ACK, DELETE (from the charon logs, by message ID); mid is decimal.")
    w("# For encrypted packets, packet.N.iv and packet.N.plain are the CBC IV and the plaintext")
    w("# (payload chain, before padding) that the sender's charon logged (enc=3) for exactly")
    w("# this ciphertext; packet.N.pad_len is the number of padding bytes it appended.")
    w("packet.count = %d" % len(packets))
    t0 = packets[0]["ts"]
    for n, p in enumerate(packets, 1):
        h = p["hdr"]
        note = p.get("log_summary")
        w("# packet %d: %s %s, t=+%.3fs%s" % (n, p["kind"], p["dir"], p["ts"] - t0,
                                               (" [ %s ]" % note) if note else ""))
        w("packet.%d.dir = %s" % (n, p["dir"]))
        w("packet.%d.port = %d" % (n, p["port"]))
        w("packet.%d.kind = %s" % (n, p["kind"]))
        w("packet.%d.mid = %d" % (n, h["mid"]))
        if p.get("enc"):
            iv, plain, pad = p["enc"]
            w("packet.%d.iv = %s" % (n, iv.hex()))
            w("packet.%d.plain = %s" % (n, plain.hex()))
            w("packet.%d.pad_len = %d" % (n, len(pad)))
        elif p["hdr"]["flags"] & 1:
            print("warning: packet %d: sender's IV/plaintext not found in its log" % n,
                  file=sys.stderr)
        w("packet.%d = %s" % (n, p["msg"].hex()))
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    kinds = " ".join(p["kind"] for p in packets)
    print("wrote %s: %d packets: %s" % (a.out, len(packets), kinds))


if __name__ == "__main__":
    main()
