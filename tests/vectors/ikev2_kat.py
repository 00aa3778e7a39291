#!/usr/bin/env python3
"""Prints the expected values of the IKEv2 key-derivation known-answer tests in
src/crypto/ikev2_keys_test.cc, computed independently of ikepulse with Python's hmac/hashlib
straight from the RFC 7296 formulas (§2.13 prf+, §2.14 SKEYSEED and the key split, §2.15 PSK
AUTH, §2.17 Child SA KEYMAT, §2.18 rekeyed SKEYSEED).

    python3 tests/vectors/ikev2_kat.py

The inputs are fixed byte patterns written below; the test file carries the same inputs.
"""

import hashlib
import hmac

H = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
     "sha512": hashlib.sha512}


def prf(h, key, *data):
    return hmac.new(key, b"".join(data), H[h]).digest()


def prf_plus(h, key, seed, length):
    out, t, n = b"", b"", 1
    while len(out) < length:
        t = prf(h, key, t, seed, bytes([n]))
        out += t
        n += 1
    return out[:length]


def pattern(start, n):
    return bytes((start + i) & 0xFF for i in range(n))


def show(name, b):
    print("%s = %s" % (name, b.hex()))


# prf+ over K = 00 01 .. 1f and S = "ikepulse prf+ seed", for lengths that need several blocks
# and end inside one.
K = pattern(0, 32)
S = b"ikepulse prf+ seed"
for h, n in (("sha1", 71), ("sha256", 100), ("sha384", 130), ("sha512", 200)):
    show("prfplus.%s.%d" % (h, n), prf_plus(h, K, S, n))

# SKEYSEED = prf(Ni | Nr, g^ir) and the split of prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
NI = pattern(0x10, 32)
NR = pattern(0x80, 32)
GIR = pattern(0x40, 256)
SPII = bytes.fromhex("0102030405060708")
SPIR = bytes.fromhex("1112131415161718")
# (name, prf, SK_a length, SK_e length incl. GCM salt)
SUITES = (("aes128_sha256_sha256", "sha256", 32, 16),
          ("aes256_sha1_sha1", "sha1", 20, 32),
          ("aes128gcm_sha256", "sha256", 0, 20),
          ("aes256gcm_sha384", "sha384", 0, 36),
          ("aes256_sha512_sha512", "sha512", 64, 32))
for name, h, alen, elen in SUITES:
    seed = prf(h, NI + NR, GIR)
    show("skeyseed.%s" % name, seed)
    plen = len(seed)
    km = prf_plus(h, seed, NI + NR + SPII + SPIR, 3 * plen + 2 * alen + 2 * elen)
    off = 0
    for part, n in (("sk_d", plen), ("sk_ai", alen), ("sk_ar", alen), ("sk_ei", elen),
                    ("sk_er", elen), ("sk_pi", plen), ("sk_pr", plen)):
        show("%s.%s" % (name, part), km[off:off + n])
        off += n

# Rekeyed SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr), SHA-256
SKD = pattern(0xD0, 32)
GIR2 = pattern(0x60, 256)
NI2 = pattern(0x20, 16)
NR2 = pattern(0x30, 24)
show("rekey_skeyseed.sha256", prf("sha256", SKD, GIR2, NI2, NR2))
# Child KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr): AES-128-CBC + HMAC-SHA-256 (16 + 32) and
# AES-256-GCM (32 + 4 salt, no integrity), SHA-256
show("child_keymat.sha256.nopfs.96", prf_plus("sha256", SKD, NI2 + NR2, 2 * (16 + 32)))
show("child_keymat.sha256.pfs.72", prf_plus("sha256", SKD, GIR2 + NI2 + NR2, 2 * 36))

# PSK AUTH = prf(prf(PSK, "Key Pad for IKEv2"), RealMessage | Nonce | prf(SK_p, IDbody))
PSK = b"ikepulse test psk"
MSG = pattern(0xA0, 300)
NONCE = pattern(0x55, 32)
SKP = pattern(0x70, 48)
IDB = bytes.fromhex("01000000c0000201")
show("maced_id.sha384", prf("sha384", SKP, IDB))
show("psk_auth.sha384", prf("sha384", prf("sha384", PSK, b"Key Pad for IKEv2"), MSG, NONCE,
                            prf("sha384", SKP, IDB)))
