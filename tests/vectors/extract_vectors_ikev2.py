#!/usr/bin/env python3
"""Builds one tests/vectors/ikev2-<proposal>.vec file from a lab run of two strongSwan peers
speaking IKEv2 (gen_vectors_ikev2.sh).

Inputs: the tcpdump capture (UDP 500/4500 on the initiator's WAN interface) and both charon
file logs written with ike=4 chd=4 enc=4 (see gen_vectors_ikev2.sh). Output: the `key = value`
vector format described in tests/vectors/README.md (IKEv2 section).

Clear values (SPIs, nonces, KE data, every datagram) come from the capture; secrets (g^ir,
SKEYSEED, SK_*, Child SA keys) and the plaintext of every encrypted message from the logs:
the sender's "IV" / "plain" / "padding" dumps, matched to a datagram by its IV and checked
against the receiver's dumps of the same message. Everything that can be recomputed is
recomputed here with Python's hmac/hashlib (independently of ikepulse) and compared with both
logs; any disagreement stops the script.

Lab only: the keys in the logs are test keys of throw-away SAs.
"""

import argparse
import hashlib
import hmac
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from extract_vectors import CharonLog, die, read_pcap  # noqa: E402  (shared pcap/log readers)

HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
          "sha512": hashlib.sha512}
# encryption name in the proposal -> (vector name, SK_e length incl. salt, IV length, AEAD)
ENCR = {"aes128": ("aes128-cbc", 16, 16, False), "aes256": ("aes256-cbc", 32, 16, False),
        "aes128gcm16": ("aes128-gcm16", 20, 8, True), "aes256gcm16": ("aes256-gcm16", 36, 8, True)}
# integrity name -> (vector name, key length, ICV length)
INTEG = {"sha1": ("hmac-sha1-96", 20, 12), "sha256": ("hmac-sha256-128", 32, 16),
         "sha384": ("hmac-sha384-192", 48, 24), "sha512": ("hmac-sha512-256", 64, 32)}
GROUPS = {"modp2048": 14, "modp3072": 15, "ecp256": 19, "ecp384": 20, "ecp521": 21}
EXCHANGES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"}
SK = 46
KEY_PAD = b"Key Pad for IKEv2"


def prf(h, key, *data):
    return hmac.new(key, b"".join(data), HASHES[h]).digest()


def prf_plus(h, key, seed, length):
    out, t, n = b"", b"", 1
    while len(out) < length:
        t = prf(h, key, t, seed, bytes([n]))
        out += t
        n += 1
    return out[:length]


def parse_proposal(p):
    """'aes128-sha256-modp2048' or 'aes256gcm16-prfsha384-ecp384' -> (encr, integ, prf, group)."""
    parts = p.split("-")
    encr = parts[0]
    if encr not in ENCR:
        die("unknown encryption in " + p)
    integ = prf_name = None
    group = None
    for x in parts[1:]:
        if x.startswith("prf"):
            prf_name = x[3:]
        elif x in INTEG:
            integ = x
        elif x in GROUPS:
            group = x
        else:
            die("unknown proposal part %s in %s" % (x, p))
    if ENCR[encr][3]:
        if integ is not None:
            die("AEAD with an integrity algorithm: " + p)
    elif integ is None:
        die("CBC without integrity: " + p)
    # strongSwan: without an explicit PRF, the PRF follows the integrity algorithm.
    prf_name = prf_name or integ
    return encr, integ, prf_name, group


def esp_key_lengths(esp):
    parts = esp.split("-")
    enc = ENCR[parts[0]]
    integ_len = INTEG[parts[1]][1] if len(parts) > 1 else 0
    return enc[1], integ_len


def header(msg):
    if len(msg) < 28:
        die("short IKE message")
    np_, ver, exch, flags = msg[16], msg[17], msg[18], msg[19]
    mid, length = struct.unpack(">II", msg[20:28])
    return dict(spi_i=msg[0:8], spi_r=msg[8:16], np=np_, ver=ver, exch=exch, flags=flags,
                mid=mid, length=length)


def chain(first, data, base=0, stop_at_sk=True):
    """[(type, offset of the generic header, body)] of a payload chain."""
    out, np_, off = [], first, 0
    while np_ != 0:
        if off + 4 > len(data):
            die("truncated payload chain")
        nxt, _c, plen = struct.unpack(">BBH", data[off:off + 4])
        if plen < 4 or off + plen > len(data):
            die("bad payload length")
        out.append((np_, base + off, data[off + 4:off + plen]))
        if np_ == SK and stop_at_sk:
            break
        np_, off = nxt, off + plen
    return out


def first_body(payloads, ptype):
    for t, _o, b in payloads:
        if t == ptype:
            return b
    return None


def ivs_to_plain(log):
    """{IV: (plain, padding)} from a charon log's ENC dumps. Sender order: IV, plain, padding,
    assoc, encrypted, ICV; receiver: IV, encrypted, ICV, assoc, plain, padding, all on one
    thread."""
    out = {}
    blobs = log.blobs
    for k, (_i, g, label, data, th) in enumerate(blobs):
        if g != "ENC" or label != "IV":
            continue
        nxt = [b for b in blobs[k + 1:k + 12] if b[4] == th and b[1] == "ENC"]
        plain = next((b[3] for b in nxt if b[2] == "plain"), None)
        pad = next((b[3] for b in nxt if b[2] == "padding"), None)
        if plain is None or pad is None:
            continue
        if data in out and out[data] != (plain, pad):
            die("one IV, two plaintexts in one log")
        out[data] = (plain, pad)
    return out


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

    encr, integ, hname, group_name = parse_proposal(a.proposal)
    encr_name, e_len, iv_len, aead = ENCR[encr]
    integ_name, a_len, icv_len = INTEG[integ] if integ else ("none", 0, 16)
    group = GROUPS[group_name]
    esp_e_len, esp_a_len = esp_key_lengths(a.esp)
    psk = a.psk.encode()
    li, lr = CharonLog(a.log_i), CharonLog(a.log_r)

    # ---- datagrams in capture order (non-ESP marker removed on 4500; ESP and keepalives skipped)
    packets = []
    for ts, src, dst, sport, dport, payload in read_pcap(a.pcap):
        if {src, dst} != {a.initiator, a.responder}:
            continue
        port = dport if dport in (500, 4500) else sport
        if port == 4500:
            if len(payload) == 1 and payload[0] == 0xFF:
                continue
            if payload[:4] != b"\0\0\0\0":
                continue
            payload = payload[4:]
        h = header(payload)
        if h["ver"] != 0x20:
            continue
        packets.append(dict(ts=ts, dir="i2r" if src == a.initiator else "r2i", port=port,
                            msg=payload, hdr=h))
    if not packets:
        die("no IKEv2 packets in capture")

    # ---- the payload summary each sender logged: "generating <EXCH> request|response <MID> [ ... ]"
    generated = {}
    for d, log in (("i2r", li), ("r2i", lr)):
        for _l, m in log.grep(r"^generating (\S+) (request|response) (\d+) \[(.*)\]$"):
            key = (d, m.group(1), m.group(2) == "response", int(m.group(3)))
            generated.setdefault(key, []).append(m.group(4).strip())
    used = {}
    request_kind = {}  # (requester dir, mid) -> kind of the request
    for p in packets:
        h = p["hdr"]
        exch = EXCHANGES.get(h["exch"], "EXCHANGE_%d" % h["exch"])
        resp = bool(h["flags"] & 0x20)
        key = (p["dir"], exch, resp, h["mid"])
        k = used.get(key, 0)
        used[key] = k + 1
        lst = generated.get(key, [])
        summary = lst[k] if k < len(lst) else None
        if summary is None:
            die("packet %s %s mid %d: no 'generating' line in the sender's log" % (p["dir"], exch, h["mid"]))
        p["summary"] = summary
        p["exchange"], p["response"] = exch, resp
        if exch == "INFORMATIONAL":
            if not resp:
                base = "LIVENESS" if summary == "" else ("DELETE" if "D" in summary.split() else "INFORMATIONAL")
                request_kind[(p["dir"], h["mid"])] = base
            else:
                requester = "r2i" if p["dir"] == "i2r" else "i2r"
                base = request_kind.get((requester, h["mid"]), "INFORMATIONAL")
        else:
            base = exch
        p["kind"] = base + ("_RESPONSE" if resp else "_REQUEST")

    # ---- IKE_SA_INIT
    init_req = [p for p in packets if p["kind"] == "IKE_SA_INIT_REQUEST"]
    init_resp = [p for p in packets if p["kind"] == "IKE_SA_INIT_RESPONSE"]
    if len(init_req) != 1 or len(init_resp) != 1:
        die("expected one IKE_SA_INIT request and response (no COOKIE/INVALID_KE round)")
    req, resp = init_req[0]["msg"], init_resp[0]["msg"]
    spi_i, spi_r = resp[0:8], resp[8:16]
    preq = chain(req[16], req[28:], 28)
    presp = chain(resp[16], resp[28:], 28)
    ni, nr = first_body(preq, 40), first_body(presp, 40)
    kei, ker = first_body(preq, 34), first_body(presp, 34)
    if None in (ni, nr, kei, ker):
        die("IKE_SA_INIT without Nonce/KE")
    if struct.unpack(">H", kei[:2])[0] != group or struct.unpack(">H", ker[:2])[0] != group:
        die("KE group is not %d" % group)
    gi, gr = kei[4:], ker[4:]

    # ---- secrets from the initiator's log, checked against the responder's and recomputed
    g_ir = li.blob("shared Diffie Hellman secret", "IKE")
    if lr.blob("shared Diffie Hellman secret", "IKE") != g_ir:
        die("initiator and responder disagree on g^ir")
    logged = {}
    for label in ("SKEYSEED", "Sk_d secret", "Sk_ai secret", "Sk_ar secret", "Sk_ei secret",
                  "Sk_er secret", "Sk_pi secret", "Sk_pr secret"):
        v = li.blob(label, "IKE", required=not (aead and label in ("Sk_ai secret", "Sk_ar secret")))
        if lr.blob(label, "IKE", required=False) != v:
            die("initiator and responder logs disagree on " + label)
        logged[label] = v if v is not None else b""
    skeyseed = prf(hname, ni + nr, g_ir)
    plen = len(skeyseed)
    km = prf_plus(hname, skeyseed, ni + nr + spi_i + spi_r, 3 * plen + 2 * a_len + 2 * e_len)
    keys, off = {}, 0
    for name, n in (("sk_d", plen), ("sk_ai", a_len), ("sk_ar", a_len), ("sk_ei", e_len),
                    ("sk_er", e_len), ("sk_pi", plen), ("sk_pr", plen)):
        keys[name] = km[off:off + n]
        off += n
    if skeyseed != logged["SKEYSEED"]:
        die("SKEYSEED does not recompute")
    for name in ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr"):
        label = "Sk_%s secret" % name[3:]
        if keys[name] != logged[label]:
            die("%s recomputed %s != logged %s" % (name, keys[name].hex(), logged[label].hex()))

    # ---- plaintext of every encrypted datagram (sender's dumps, checked with the receiver's)
    by_iv = {"i2r": ivs_to_plain(li), "r2i": ivs_to_plain(lr)}
    rx_iv = {"i2r": by_iv["r2i"], "r2i": by_iv["i2r"]}
    for p in packets:
        h = p["hdr"]
        pl = chain(h["np"], p["msg"][28:], 28)
        if not pl or pl[-1][0] != SK:
            continue
        sk_off = pl[-1][1]
        iv = p["msg"][sk_off + 4:sk_off + 4 + iv_len]
        got = by_iv[p["dir"]].get(iv)
        if got is None:
            die("packet %s %s: the sender logged no IV %s" % (p["kind"], p["dir"], iv.hex()))
        if rx_iv[p["dir"]].get(iv) != got:
            die("packet %s: sender and receiver logged different plaintexts" % p["kind"])
        plain, padding = got
        if not padding or padding[-1] != len(padding) - 1:
            die("packet %s: logged padding does not end with its own length" % p["kind"])
        p["sk_offset"], p["iv"], p["plain"], p["pad_len"] = sk_off, iv, plain, len(padding) - 1
        p["inner_next"] = p["msg"][sk_off]

    # ---- IKE_AUTH: IDs, AUTH (recomputed), Child SA keys
    auth = {}
    for kind, who in (("IKE_AUTH_REQUEST", "i"), ("IKE_AUTH_RESPONSE", "r")):
        ps = [p for p in packets if p["kind"] == kind]
        if len(ps) != 1 or "plain" not in ps[0]:
            die("expected one decrypted " + kind)
        inner = chain(ps[0]["inner_next"], ps[0]["plain"], 0, stop_at_sk=False)
        idb = first_body(inner, 35 if who == "i" else 36)
        ab = first_body(inner, 39)
        sa = first_body(inner, 33)
        if None in (idb, ab, sa):
            die(kind + " without ID/AUTH/SA")
        if ab[0] != 2:
            die(kind + ": AUTH method is not shared key")
        real, nonce, skp = (req, nr, keys["sk_pi"]) if who == "i" else (resp, ni, keys["sk_pr"])
        want = prf(hname, prf(hname, psk, KEY_PAD), real, nonce, prf(hname, skp, idb))
        if want != ab[4:]:
            die(kind + ": AUTH does not recompute")
        # First proposal's SPI (protocol ESP, 4 bytes): the SPI this side receives with.
        spi_size = sa[6]
        auth[who] = dict(id=idb, auth=ab[4:], child_spi=sa[8:8 + spi_size])
    child = {}
    for name, label in (("encr_i", "encryption initiator key"), ("encr_r", "encryption responder key"),
                        ("integ_i", "integrity initiator key"), ("integ_r", "integrity responder key")):
        v = li.blob(label, "CHD", required=name.startswith("encr"))
        if lr.blob(label, "CHD", required=False) != v:
            die("initiator and responder disagree on " + label)
        child[name] = v or b""
    ckm = prf_plus(hname, keys["sk_d"], ni + nr, 2 * (esp_e_len + esp_a_len))
    if ckm != child["encr_i"] + child["integ_i"] + child["encr_r"] + child["integ_r"]:
        die("Child SA KEYMAT does not recompute")

    floated = any(p["port"] == 4500 for p in packets)
    first_4500 = next((p["kind"] for p in packets if p["port"] == 4500), None)

    # ---- write
    out = []
    w = out.append
    w("# ikepulse IKEv2 interop test vector: IKE_SA_INIT + IKE_AUTH (PSK) + liveness check(s) +")
    w("# Delete between two %s peers (initiator %s, responder %s)," % (a.version, a.initiator, a.responder))
    w("# generated by tests/vectors/gen_vectors_ikev2.sh (lab only; the PSK is a test secret).")
    w("# Format: `key = value`, one per line; values are lowercase hex unless noted.")
    w("# Clear values come from the capture; secrets and plaintexts from charon's ike=4/chd=4/")
    w("# enc=4 log, cross-checked with Python hmac/hashlib and with the other peer's log.")
    w("")
    w("format = ikev2")
    w("proposal = " + a.proposal)
    w("esp_proposal = " + a.esp)
    w("ike.encr = " + encr_name)
    w("ike.integ = " + integ_name)
    w("ike.prf = " + hname)
    w("ike.dh_group = %d" % group)
    w("esp.encr_key_length = %d" % esp_e_len)
    w("esp.integ_key_length = %d" % esp_a_len)
    w("initiator.addr = " + a.initiator)
    w("responder.addr = " + a.responder)
    w("# PSK (text: %s)" % a.psk)
    w("psk = " + psk.hex())
    w("")
    if floated:
        w("# NAT-T: there is no NAT, but kernel-libipsec makes strongSwan fake its NAT-D source")
        w("# hash, so both peers move to UDP 4500 starting with %s." % first_4500)
    w("nat_t.floated = %s" % ("yes" if floated else "no"))
    w("")
    w("# IKE_SA_INIT (from the capture): SPIs, Nonce bodies, KE data (after group and reserved)")
    w("spi_i = " + spi_i.hex())
    w("spi_r = " + spi_r.hex())
    w("ni = " + ni.hex())
    w("nr = " + nr.hex())
    w("gi = " + gi.hex())
    w("gr = " + gr.hex())
    w("# from the log: 'shared Diffie Hellman secret', 'SKEYSEED', 'Sk_d secret' ... 'Sk_pr secret'")
    w("g_ir = " + g_ir.hex())
    w("skeyseed = " + skeyseed.hex())
    for name in ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr"):
        w("%s = %s" % (name, keys[name].hex()))
    w("")
    w("# IKE_AUTH (from the decrypted messages): ID payload bodies and AUTH data")
    w("idi = " + auth["i"]["id"].hex())
    w("idr = " + auth["r"]["id"].hex())
    w("auth_i = " + auth["i"]["auth"].hex())
    w("auth_r = " + auth["r"]["auth"].hex())
    w("# Child SA: each side's SPI (in its SA payload) and the keys charon logged (chd=4):")
    w("# KEYMAT = prf+(SK_d, Ni | Nr) = encr_i | integ_i | encr_r | integ_r")
    w("child.spi_i = " + auth["i"]["child_spi"].hex())
    w("child.spi_r = " + auth["r"]["child_spi"].hex())
    for name in ("encr_i", "integ_i", "encr_r", "integ_r"):
        w("child.%s = %s" % (name, child[name].hex()))
    w("")
    w("# Every IKEv2 message in capture order. packet.N is the UDP payload without the non-ESP")
    w("# marker on port 4500. kind: IKE_SA_INIT_, IKE_AUTH_, LIVENESS_ (empty INFORMATIONAL),")
    w("# DELETE_, INFORMATIONAL_ (other) + REQUEST|RESPONSE; summary: the payloads the sender")
    w("# logged (text); mid decimal. For encrypted messages: sk_offset (decimal), the IV, the")
    w("# inner payloads the sender logged ('plain', padding removed) and pad_len (padding bytes")
    w("# before the Pad Length byte).")
    w("packet.count = %d" % len(packets))
    t0 = packets[0]["ts"]
    for n, p in enumerate(packets, 1):
        summary = "[ %s ]" % p["summary"] if p["summary"] else "[ ]"
        w("# packet %d: %s %s, t=+%.3fs %s" % (n, p["kind"], p["dir"], p["ts"] - t0, summary))
        w("packet.%d.dir = %s" % (n, p["dir"]))
        w("packet.%d.port = %d" % (n, p["port"]))
        w("packet.%d.kind = %s" % (n, p["kind"]))
        w("packet.%d.mid = %d" % (n, p["hdr"]["mid"]))
        w("packet.%d.summary = %s" % (n, summary))
        if "plain" in p:
            w("packet.%d.sk_offset = %d" % (n, p["sk_offset"]))
            w("packet.%d.iv = %s" % (n, p["iv"].hex()))
            w("packet.%d.plain = %s" % (n, p["plain"].hex()))
            w("packet.%d.pad_len = %d" % (n, p["pad_len"]))
        w("packet.%d = %s" % (n, p["msg"].hex()))
    with open(a.out, "w") as f:
        # An empty value is written as "key =" (no trailing blank).
        f.write("\n".join(l.rstrip() for l in out) + "\n")
    print("wrote %s: %d packets: %s" % (a.out, len(packets), " ".join(p["kind"] for p in packets)))


if __name__ == "__main__":
    main()
