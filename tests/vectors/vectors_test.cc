// Interop vectors: every *.vec file in IKEPULSE_VECTOR_DIR (tests/vectors, written by
// gen_vectors.sh from two strongSwan 5.9.8 peers) is replayed through ikepulse's crypto and
// codec:
//   - SKEYID, SKEYID_d/a/e, Ka (DerivePhase1Psk) and the phase-1 IV (Phase1Iv) equal the
//     values charon logged;
//   - every captured message parses (ParseHeader); MM1-MM4 re-serialize to the same bytes;
//   - every encrypted message decrypts with the RFC 2409 Appendix B IV rules (MM5 with IV0,
//     MM6 with the last block of MM5; Quick Mode with Phase2Iv(last phase-1 block, M-ID)
//     chained inside the exchange; each Informational with its own Phase2Iv and no chain
//     update), the IV equals the one the sender logged, the payload chain parses and
//     re-serializes to the plaintext up to its last payload, and HASH_I/HASH_R, QM HASH(1..3),
//     informational HASH(1), the DPD notifies and the Deletes check out;
//   - the child KEYMAT (QuickModeKeymat) equals the ESP keys charon logged.
// Every ikev2-*.vec file (gen_vectors_ikev2.sh) goes through the IKEv2 crypto (ikev2_keys.h)
// and codec (src/ikev2):
//   - SKEYSEED and SK_d/ai/ar/ei/er/pi/pr (Skeyseed, DeriveIkeSaKeys) from the logged g^ir and
//     the captured nonces and SPIs equal the values charon logged, and so does the Child SA
//     KEYMAT (DeriveChildSaKeys);
//   - IKE_SA_INIT request and response parse (ParseMessage) and re-serialize (BuildMessage) to
//     the same bytes;
//   - every encrypted message is located (LocateSk), checked and decrypted (UnprotectSk) to
//     exactly the plaintext its sender logged; its inner payloads parse and re-serialize to the
//     same bytes; re-protecting it with the captured IV gives the captured datagram byte for
//     byte (AES-GCM) or the same ciphertext blocks up to the randomly padded last one (CBC);
//     a flipped ICV bit is refused;
//   - both AUTH payloads recompute from the PSK (PskAuth, VerifyPskAuth);
//   - the liveness checks are empty INFORMATIONAL exchanges and the Delete names the IKE SA.
// Format of the files: tests/vectors/README.md.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "crypto/ikev1_keys.h"
#include "crypto/ikev2_keys.h"
#include "ikev2/message.h"
#include "ikev2/payloads.h"
#include "isakmp/constants.h"
#include "isakmp/header.h"
#include "isakmp/payloads.h"

#ifndef IKEPULSE_VECTOR_DIR
#error "IKEPULSE_VECTOR_DIR must be defined (tests/vectors/CMakeLists.txt)"
#endif

namespace ikepulse {
namespace {

using crypto::CipherAlg;
using crypto::HashAlg;
using isakmp::ExchangeType;
using isakmp::PayloadType;

// ---------------------------------------------------------------------------------------------
// The .vec file.

class VecFile {
 public:
  static std::optional<VecFile> Load(const std::filesystem::path& path, std::string* err) {
    std::ifstream in(path);
    if (!in) {
      *err = "cannot open " + path.string();
      return std::nullopt;
    }
    VecFile v;
    v.name_ = path.filename().string();
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      const auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      // "key = value", or "key =" for an empty value (no trailing blank in the files).
      if (line.size() >= 2 && line.compare(line.size() - 2, 2, " =") == 0) line += ' ';
      const auto eq = line.find(" = ");
      if (eq == std::string::npos) {
        *err = v.name_ + ":" + std::to_string(lineno) + ": no ' = '";
        return std::nullopt;
      }
      std::string key = line.substr(first, eq - first);
      std::string value = line.substr(eq + 3);
      while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
      if (!v.values_.emplace(key, value).second) {
        *err = v.name_ + ":" + std::to_string(lineno) + ": duplicate key " + key;
        return std::nullopt;
      }
    }
    return v;
  }

  const std::string& name() const { return name_; }
  bool Has(const std::string& key) const { return values_.count(key) != 0; }
  std::string Str(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) {
      ADD_FAILURE() << name_ << ": missing key " << key;
      return "";
    }
    return it->second;
  }
  Bytes Hex(const std::string& key) const {
    Bytes out;
    if (!FromHex(Str(key), out)) ADD_FAILURE() << name_ << ": bad hex in " << key;
    return out;
  }
  uint64_t Num(const std::string& key) const {
    const std::string s = Str(key);
    return s.empty() ? 0 : std::stoull(s);
  }

 private:
  std::string name_;
  std::map<std::string, std::string> values_;
};

bool IsIkev2File(const std::filesystem::path& p) {
  return p.filename().string().rfind("ikev2-", 0) == 0;
}

// The IKEv1 (ikev2 = false) or IKEv2 vector files, sorted.
std::vector<std::filesystem::path> VectorFiles(bool ikev2 = false) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(IKEPULSE_VECTOR_DIR, ec)) {
    if (e.path().extension() == ".vec" && IsIkev2File(e.path()) == ikev2) {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::optional<HashAlg> HashFromName(const std::string& s) {
  if (s == "md5") return HashAlg::kMd5;
  if (s == "sha1") return HashAlg::kSha1;
  if (s == "sha256") return HashAlg::kSha256;
  if (s == "sha384") return HashAlg::kSha384;
  if (s == "sha512") return HashAlg::kSha512;
  return std::nullopt;
}

std::optional<CipherAlg> CipherFromName(const std::string& s) {
  if (s == "aes128-cbc") return CipherAlg::kAes128Cbc;
  if (s == "aes192-cbc") return CipherAlg::kAes192Cbc;
  if (s == "aes256-cbc") return CipherAlg::kAes256Cbc;
  if (s == "3des-cbc") return CipherAlg::k3DesCbc;
  return std::nullopt;
}

std::string H(ByteSpan b) { return ToHex(b); }
Bytes Cat(ByteSpan a, ByteSpan b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
Bytes Sub(ByteSpan b, size_t from, size_t len) {
  return Bytes(b.begin() + from, b.begin() + from + len);
}

// One captured message.
struct Packet {
  int n = 0;
  std::string dir;  // i2r | r2i
  std::string kind;
  uint32_t mid = 0;
  uint16_t port = 0;
  Bytes msg;
  std::optional<Bytes> logged_iv, logged_plain;
  std::optional<size_t> logged_pad_len;
};

// Everything a test needs from one file, decoded once.
struct Vector {
  VecFile file;
  HashAlg hash = HashAlg::kSha1;
  CipherAlg cipher = CipherAlg::kAes128Cbc;
  size_t key_len = 0, block = 0;
  Bytes psk, cky_i, cky_r, sai_b, ni_b, nr_b, gxi, gxr, gxy;
  std::vector<Packet> packets;
};

std::optional<Vector> LoadVector(const std::filesystem::path& path) {
  std::string err;
  auto f = VecFile::Load(path, &err);
  if (!f) {
    ADD_FAILURE() << err;
    return std::nullopt;
  }
  Vector v;
  v.file = std::move(*f);
  auto h = HashFromName(v.file.Str("ike.hash"));
  auto c = CipherFromName(v.file.Str("ike.cipher"));
  if (!h || !c) {
    ADD_FAILURE() << path << ": unknown ike.hash/ike.cipher";
    return std::nullopt;
  }
  v.hash = *h;
  v.cipher = *c;
  v.key_len = v.file.Num("ike.key_length");
  v.block = v.file.Num("ike.block_size");
  EXPECT_EQ(v.key_len, crypto::KeyLength(v.cipher)) << "ike.key_length vs crypto::KeyLength";
  EXPECT_EQ(v.block, crypto::BlockSize(v.cipher)) << "ike.block_size vs crypto::BlockSize";
  v.psk = v.file.Hex("psk");
  v.cky_i = v.file.Hex("cky_i");
  v.cky_r = v.file.Hex("cky_r");
  v.sai_b = v.file.Hex("sai_b");
  v.ni_b = v.file.Hex("ni_b");
  v.nr_b = v.file.Hex("nr_b");
  v.gxi = v.file.Hex("gxi");
  v.gxr = v.file.Hex("gxr");
  v.gxy = v.file.Hex("gxy");
  const uint64_t count = v.file.Num("packet.count");
  for (uint64_t i = 1; i <= count; ++i) {
    const std::string k = "packet." + std::to_string(i);
    Packet p;
    p.n = static_cast<int>(i);
    p.dir = v.file.Str(k + ".dir");
    p.kind = v.file.Str(k + ".kind");
    p.mid = static_cast<uint32_t>(v.file.Num(k + ".mid"));
    p.port = static_cast<uint16_t>(v.file.Num(k + ".port"));
    p.msg = v.file.Hex(k);
    if (v.file.Has(k + ".iv")) p.logged_iv = v.file.Hex(k + ".iv");
    if (v.file.Has(k + ".plain")) p.logged_plain = v.file.Hex(k + ".plain");
    if (v.file.Has(k + ".pad_len")) p.logged_pad_len = v.file.Num(k + ".pad_len");
    v.packets.push_back(std::move(p));
  }
  return v;
}

class VectorTest : public ::testing::TestWithParam<std::filesystem::path> {
 protected:
  void SetUp() override {
    auto v = LoadVector(GetParam());
    ASSERT_TRUE(v.has_value());
    v_.emplace(std::move(*v));
  }
  Vector& v() { return *v_; }
  std::optional<Vector> v_;
};

TEST(VectorFilesTest, DirectoryHasTheThreeProposals) {
  std::set<std::string> names;
  for (const auto& p : VectorFiles()) names.insert(p.filename().string());
  EXPECT_TRUE(names.count("aes128-sha1-modp2048.vec"));
  EXPECT_TRUE(names.count("aes256-sha256-ecp256.vec"));
  EXPECT_TRUE(names.count("3des-md5-modp1024.vec"));
}

// ---------------------------------------------------------------------------------------------
// Phase-1 keys and IV.

TEST_P(VectorTest, Phase1KeysMatchCharonLog) {
  const auto& f = v().file;
  const crypto::Phase1Keys k = crypto::DerivePhase1Psk(v().hash, v().psk, v().ni_b, v().nr_b,
                                                       v().gxy, v().cky_i, v().cky_r, v().key_len);
  EXPECT_EQ(H(k.skeyid.span()), f.Str("skeyid"));
  EXPECT_EQ(H(k.skeyid_d.span()), f.Str("skeyid_d"));
  EXPECT_EQ(H(k.skeyid_a.span()), f.Str("skeyid_a"));
  EXPECT_EQ(H(k.skeyid_e.span()), f.Str("skeyid_e"));
  EXPECT_EQ(H(k.enc_key.span()), f.Str("enc_key"));
  EXPECT_EQ(H(crypto::Phase1Iv(v().hash, v().gxi, v().gxr, v().block)), f.Str("phase1_iv"));
  EXPECT_EQ(v().gxi.size(), crypto::PublicValueLength(f.Num("ike.dh_group")));
  EXPECT_EQ(v().gxr.size(), crypto::PublicValueLength(f.Num("ike.dh_group")));
}

TEST_P(VectorTest, ChildKeymatMatchesCharonLog) {
  const auto& f = v().file;
  if (!f.Has("child.spi_i2r")) GTEST_SKIP() << "no child keys logged";
  const crypto::Phase1Keys k = crypto::DerivePhase1Psk(v().hash, v().psk, v().ni_b, v().nr_b,
                                                       v().gxy, v().cky_i, v().cky_r, v().key_len);
  const Bytes ni = f.Hex("qm.ni_b"), nr = f.Hex("qm.nr_b");
  const auto proto = static_cast<uint8_t>(f.Num("child.protocol"));
  for (const std::string d : {"i2r", "r2i"}) {
    SCOPED_TRACE(d);
    const Bytes enc = f.Hex("child.enc_key_" + d), integ = f.Hex("child.integ_key_" + d);
    EXPECT_EQ(enc.size(), f.Num("esp.enc_key_length"));
    EXPECT_EQ(integ.size(), f.Num("esp.integ_key_length"));
    const SecretBytes keymat =
        crypto::QuickModeKeymat(v().hash, k.skeyid_d.span(), std::nullopt, proto,
                                f.Hex("child.spi_" + d), ni, nr, enc.size() + integ.size());
    EXPECT_EQ(H(keymat.span()), H(Cat(enc, integ))) << "KEYMAT = encryption key | integrity key";
  }
}

// ---------------------------------------------------------------------------------------------
// Packets.

ExchangeType ExpectedExchange(const std::string& kind) {
  if (kind.rfind("MM", 0) == 0) return ExchangeType::kIdentityProtection;
  if (kind.rfind("QM", 0) == 0) return ExchangeType::kQuickMode;
  return ExchangeType::kInformational;
}

TEST_P(VectorTest, EveryHeaderParses) {
  ASSERT_GE(v().packets.size(), 9u);
  for (const Packet& p : v().packets) {
    SCOPED_TRACE("packet " + std::to_string(p.n) + " " + p.kind);
    auto h = isakmp::ParseHeader(p.msg);
    ASSERT_TRUE(h.has_value()) << h.error().detail << " at " << h.error().offset;
    EXPECT_EQ(h->length, p.msg.size());
    EXPECT_EQ(h->message_id, p.mid);
    EXPECT_EQ(h->exchange, ExpectedExchange(p.kind));
    EXPECT_EQ(H(h->icookie), H(v().cky_i));
    // MM1 carries a zero responder cookie.
    EXPECT_EQ(H(h->rcookie), p.kind == "MM1" ? std::string(16, '0') : H(v().cky_r));
    EXPECT_EQ(h->encrypted(), p.kind != "MM1" && p.kind != "MM2" && p.kind != "MM3" &&
                                  p.kind != "MM4");
    // The header re-serializes to the same 28 bytes.
    Bytes out;
    ByteWriter w(out);
    isakmp::SerializeHeader(*h, w);
    EXPECT_EQ(H(out), H(Sub(p.msg, 0, isakmp::kHeaderSize)));
  }
}

TEST_P(VectorTest, ClearMainModeMessagesRoundTrip) {
  int seen = 0;
  for (const Packet& p : v().packets) {
    if (p.kind != "MM1" && p.kind != "MM2" && p.kind != "MM3" && p.kind != "MM4") continue;
    ++seen;
    SCOPED_TRACE("packet " + std::to_string(p.n) + " " + p.kind);
    auto h = isakmp::ParseHeader(p.msg);
    ASSERT_TRUE(h.has_value());
    const ByteSpan body = ByteSpan(p.msg).subspan(isakmp::kHeaderSize);
    auto chain = isakmp::ParsePayloads(h->next_payload, body, isakmp::kHeaderSize);
    ASSERT_TRUE(chain.has_value()) << chain.error().detail << " at " << chain.error().offset;
    Bytes again;
    ByteWriter w(again);
    isakmp::SerializeHeader(*h, w);
    w.Append(isakmp::SerializePayloads(*chain));
    EXPECT_EQ(H(again), H(p.msg)) << "re-serialized message differs";
    if (p.kind == "MM1") {
      ASSERT_FALSE(chain->empty());
      EXPECT_EQ((*chain)[0].type, PayloadType::kSa);
      EXPECT_EQ(H((*chain)[0].BodyIn(body)), H(v().sai_b));
      EXPECT_EQ(H(isakmp::SerializeBody((*chain)[0].body)), H(v().sai_b));
    }
    if (p.kind == "MM3" || p.kind == "MM4") {
      const auto* ke = isakmp::Find<isakmp::KeyExchangePayload>(*chain);
      const auto* nonce = isakmp::Find<isakmp::NoncePayload>(*chain);
      ASSERT_NE(ke, nullptr);
      ASSERT_NE(nonce, nullptr);
      EXPECT_EQ(H(ke->data), H(p.kind == "MM3" ? v().gxi : v().gxr));
      EXPECT_EQ(H(nonce->data), H(p.kind == "MM3" ? v().ni_b : v().nr_b));
    }
  }
  EXPECT_EQ(seen, 4);
}

// Walks the encrypted messages in capture order with the Appendix B IV rules.
TEST_P(VectorTest, EncryptedMessagesDecryptParseAndVerify) {
  const auto& f = v().file;
  const HashAlg prf = v().hash;
  const crypto::Phase1Keys k = crypto::DerivePhase1Psk(prf, v().psk, v().ni_b, v().nr_b, v().gxy,
                                                       v().cky_i, v().cky_r, v().key_len);
  ASSERT_EQ(H(k.enc_key.span()), f.Str("enc_key")) << "key derivation is off; see Phase1Keys";
  const Bytes cookies = Cat(v().cky_i, v().cky_r);

  Bytes phase1_iv = crypto::Phase1Iv(prf, v().gxi, v().gxr, v().block);  // chain of MM5, MM6
  std::optional<Bytes> last_p1_block;                                     // after MM6
  std::map<uint32_t, Bytes> qm_iv;                                        // per Quick Mode M-ID
  Bytes qm_ni, qm_nr;
  std::map<std::string, std::set<uint32_t>> rut_seqs;  // dir -> R-U-THERE seqs sent
  std::map<std::string, int> count;
  int deletes = 0;

  for (const Packet& p : v().packets) {
    auto h = isakmp::ParseHeader(p.msg);
    ASSERT_TRUE(h.has_value());
    if (!h->encrypted()) continue;
    SCOPED_TRACE("packet " + std::to_string(p.n) + " " + p.kind + " " + p.dir + " mid " +
                 std::to_string(p.mid));
    ++count[p.kind];
    const ByteSpan cipher_body = ByteSpan(p.msg).subspan(isakmp::kHeaderSize);
    ASSERT_EQ(cipher_body.size() % v().block, 0u) << "ciphertext not a multiple of the block";

    // 1. The IV (RFC 2409 Appendix B).
    Bytes iv;
    const bool is_mm = h->exchange == ExchangeType::kIdentityProtection;
    const bool is_qm = h->exchange == ExchangeType::kQuickMode;
    if (is_mm) {
      iv = phase1_iv;
    } else {
      ASSERT_TRUE(last_p1_block.has_value()) << "phase-2 message before MM6";
      if (is_qm && qm_iv.count(p.mid)) {
        iv = qm_iv[p.mid];
      } else {
        iv = crypto::Phase2Iv(prf, *last_p1_block, p.mid, v().block);
      }
    }
    if (p.logged_iv) {
      EXPECT_EQ(H(iv), H(*p.logged_iv)) << "IV differs from the sender's log";
    }

    // 2. Decrypt; advance the chains (never for Informational).
    auto plain_r = crypto::CbcDecrypt(v().cipher, k.enc_key.span(), iv, cipher_body);
    ASSERT_TRUE(plain_r.has_value()) << plain_r.error().detail;
    const Bytes plain = std::move(*plain_r);
    const Bytes last_block = Sub(cipher_body, cipher_body.size() - v().block, v().block);
    if (is_mm) {
      phase1_iv = last_block;
      if (p.kind == "MM6") last_p1_block = last_block;
    } else if (is_qm) {
      qm_iv[p.mid] = last_block;
    }

    // 3. Parse; re-serialize to the plaintext up to the end of the last payload.
    auto chain_r = isakmp::ParsePayloads(h->next_payload, plain, isakmp::kHeaderSize);
    ASSERT_TRUE(chain_r.has_value()) << "ParsePayloads: " << chain_r.error().detail << " at "
                                     << chain_r.error().offset << "; plaintext " << H(plain);
    const auto& chain = *chain_r;
    ASSERT_FALSE(chain.empty());
    const size_t end = chain.back().offset + chain.back().length;
    ASSERT_LE(end, plain.size());
    if (p.logged_plain) {
      EXPECT_EQ(H(Sub(plain, 0, end)), H(*p.logged_plain))
          << "decrypted payload chain differs from the sender's logged plaintext";
    }
    if (p.logged_pad_len) {
      EXPECT_EQ(plain.size() - end, *p.logged_pad_len) << "padding length";
    }
    EXPECT_EQ(H(isakmp::SerializePayloads(chain)), H(Sub(plain, 0, end)))
        << "SerializePayloads(ParsePayloads(x)) != x";

    const ByteSpan pspan(plain);
    auto after_hash = [&]() -> Bytes {  // bytes after the leading HASH payload, no padding
      const size_t from = chain[0].offset + chain[0].length;
      return Sub(plain, from, end - from);
    };
    auto hash_data = [&]() -> Bytes {
      const auto* hp = std::get_if<isakmp::HashPayload>(&chain[0].body);
      return hp ? hp->data : Bytes{};
    };

    // 4. Authentication hashes and contents.
    if (p.kind == "MM5" || p.kind == "MM6") {
      const auto* id = isakmp::Find<isakmp::IdPayload>(chain);
      const auto* hp = isakmp::Find<isakmp::HashPayload>(chain);
      ASSERT_NE(id, nullptr);
      ASSERT_NE(hp, nullptr);
      Bytes id_b;
      for (const auto& pl : chain)
        if (pl.type == PayloadType::kId) id_b = Bytes(pl.BodyIn(pspan).begin(), pl.BodyIn(pspan).end());
      EXPECT_EQ(H(isakmp::SerializeBody(*id)), H(id_b));
      if (p.kind == "MM5") {
        EXPECT_EQ(H(id_b), f.Str("idii_b"));
        const SecretBytes want = crypto::HashI(prf, k.skeyid.span(), v().gxi, v().gxr, v().cky_i,
                                               v().cky_r, v().sai_b, id_b);
        EXPECT_EQ(H(hp->data), H(want.span())) << "HASH_I";
        EXPECT_EQ(H(hp->data), f.Str("hash_i"));
      } else {
        EXPECT_EQ(H(id_b), f.Str("idir_b"));
        const SecretBytes want = crypto::HashR(prf, k.skeyid.span(), v().gxi, v().gxr, v().cky_i,
                                               v().cky_r, v().sai_b, id_b);
        EXPECT_EQ(H(hp->data), H(want.span())) << "HASH_R";
        EXPECT_EQ(H(hp->data), f.Str("hash_r"));
      }
      EXPECT_EQ(id->id_type, static_cast<uint8_t>(isakmp::IdType::kIpv4Addr));
    } else if (is_qm) {
      ASSERT_EQ(chain[0].type, PayloadType::kHash) << "Quick Mode must start with HASH";
      const Bytes got = hash_data();
      if (p.kind == "QM1" || p.kind == "QM2") {
        const auto* nonce = isakmp::Find<isakmp::NoncePayload>(chain);
        ASSERT_NE(nonce, nullptr);
        EXPECT_NE(isakmp::Find<isakmp::SaPayload>(chain), nullptr);
        (p.kind == "QM1" ? qm_ni : qm_nr) = nonce->data;
      }
      SecretBytes want;
      if (p.kind == "QM1") {
        want = crypto::QuickModeHash1(prf, k.skeyid_a.span(), p.mid, after_hash());
      } else if (p.kind == "QM2") {
        want = crypto::QuickModeHash2(prf, k.skeyid_a.span(), p.mid, qm_ni, after_hash());
      } else {
        EXPECT_EQ(chain.size(), 1u) << "QM3 is HASH(3) only";
        want = crypto::QuickModeHash3(prf, k.skeyid_a.span(), p.mid, qm_ni, qm_nr);
      }
      EXPECT_EQ(H(got), H(want.span())) << "Quick Mode HASH";
      const std::string logged = "qm.hash" + p.kind.substr(2);
      if (f.Has(logged) && p.mid == f.Num("qm.mid")) {
        EXPECT_EQ(H(got), f.Str(logged));
      }
    } else {
      // Informational: HDR*, HASH(1), N/D with HASH(1) = prf(SKEYID_a, M-ID | N/D).
      ASSERT_EQ(chain[0].type, PayloadType::kHash) << "Informational must start with HASH(1)";
      ASSERT_GE(chain.size(), 2u);
      const SecretBytes want =
          crypto::InformationalHash(prf, k.skeyid_a.span(), p.mid, after_hash());
      EXPECT_EQ(H(hash_data()), H(want.span())) << "Informational HASH(1)";
      EXPECT_EQ(hash_data().size(), crypto::HashLength(prf));
      if (p.kind == "R_U_THERE" || p.kind == "R_U_THERE_ACK") {
        const auto* n = isakmp::Find<isakmp::NotificationPayload>(chain);
        ASSERT_NE(n, nullptr);
        const bool ack = p.kind == "R_U_THERE_ACK";
        EXPECT_EQ(n->type, static_cast<uint16_t>(ack ? isakmp::NotifyType::kRUThereAck
                                                     : isakmp::NotifyType::kRUThere));
        EXPECT_EQ(n->doi, isakmp::kDoiIpsec);
        EXPECT_EQ(n->protocol_id, static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp));
        EXPECT_EQ(H(n->spi), H(cookies)) << "DPD SPI = CKY-I | CKY-R";
        ASSERT_EQ(n->data.size(), 4u);
        const uint32_t seq = (uint32_t{n->data[0]} << 24) | (uint32_t{n->data[1]} << 16) |
                             (uint32_t{n->data[2]} << 8) | n->data[3];
        if (!ack) {
          EXPECT_EQ(seq & 0x80000000u, 0u) << "first R-U-THERE seq has the top bit clear";
          rut_seqs[p.dir].insert(seq);
        } else {
          const std::string other = p.dir == "i2r" ? "r2i" : "i2r";
          EXPECT_TRUE(rut_seqs[other].count(seq))
              << "ACK seq " << seq << " echoes no R-U-THERE sent the other way";
        }
      } else if (p.kind == "DELETE") {
        const auto* d = isakmp::Find<isakmp::DeletePayload>(chain);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->spis.size(), 1u);
        ++deletes;
        if (d->protocol_id == static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp)) {
          EXPECT_EQ(d->spi_size, 16);
          EXPECT_EQ(H(d->spis[0]), H(cookies));
        } else {
          EXPECT_EQ(d->protocol_id, static_cast<uint8_t>(isakmp::ProtocolId::kEsp));
          EXPECT_EQ(d->spi_size, 4);
          if (f.Has("child.spi_i2r")) {
            // The deleting peer names the SPI of its inbound SA (the one it chose).
            const std::string want =
                p.dir == "i2r" ? f.Str("child.spi_r2i") : f.Str("child.spi_i2r");
            EXPECT_EQ(H(d->spis[0]), want);
          }
        }
      }
    }
  }
  if (f.Has("qm.ni_b")) {
    EXPECT_EQ(H(qm_ni), f.Str("qm.ni_b"));
    EXPECT_EQ(H(qm_nr), f.Str("qm.nr_b"));
  }
  EXPECT_EQ(count["MM5"], 1);
  EXPECT_EQ(count["MM6"], 1);
  EXPECT_EQ(count["QM1"], 1);
  EXPECT_EQ(count["QM2"], 1);
  EXPECT_EQ(count["QM3"], 1);
  EXPECT_GE(count["R_U_THERE"], 1);
  EXPECT_GE(count["R_U_THERE_ACK"], 1);
  EXPECT_EQ(deletes, 2) << "one ESP Delete and one ISAKMP Delete";
}

std::string ParamName(const ::testing::TestParamInfo<std::filesystem::path>& info) {
  std::string s = info.param.stem().string();
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(StrongSwan598, VectorTest, ::testing::ValuesIn(VectorFiles()), ParamName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(VectorTest);

// =============================================================================================
// IKEv2 vectors (ikev2-*.vec).

std::optional<crypto::Ikev2EncrAlg> Ikev2EncrFromName(const std::string& s) {
  for (auto e : {crypto::Ikev2EncrAlg::kAesCbc128, crypto::Ikev2EncrAlg::kAesCbc256,
                 crypto::Ikev2EncrAlg::kAesGcm16_128, crypto::Ikev2EncrAlg::kAesGcm16_256}) {
    if (s == crypto::Ikev2EncrName(e)) return e;
  }
  return std::nullopt;
}

std::optional<crypto::Ikev2IntegAlg> Ikev2IntegFromName(const std::string& s) {
  for (auto i : {crypto::Ikev2IntegAlg::kNone, crypto::Ikev2IntegAlg::kHmacSha1_96,
                 crypto::Ikev2IntegAlg::kHmacSha256_128, crypto::Ikev2IntegAlg::kHmacSha384_192,
                 crypto::Ikev2IntegAlg::kHmacSha512_256}) {
    if (s == crypto::Ikev2IntegName(i)) return i;
  }
  return std::nullopt;
}

// A Random that hands out given bytes (the IV a captured message was sent with).
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(Bytes b) : bytes_(std::move(b)) {}
  void Fill(std::span<uint8_t> out) override {
    ASSERT_LE(out.size(), bytes_.size() - used_);
    std::copy(bytes_.begin() + static_cast<std::ptrdiff_t>(used_),
              bytes_.begin() + static_cast<std::ptrdiff_t>(used_ + out.size()), out.begin());
    used_ += out.size();
  }

 private:
  Bytes bytes_;
  size_t used_ = 0;
};

struct Ikev2Packet {
  int n = 0;
  std::string dir;   // i2r | r2i
  std::string kind;  // e.g. IKE_AUTH_REQUEST, LIVENESS_RESPONSE
  uint32_t mid = 0;
  Bytes msg;
  std::optional<size_t> sk_offset;
  Bytes iv, plain;
  size_t pad_len = 0;
  bool from_initiator() const { return dir == "i2r"; }
};

struct Ikev2Vector {
  VecFile file;
  crypto::IkeSuite suite;
  Bytes psk, spi_i, spi_r, ni, nr, gi, gr, g_ir;
  std::vector<Ikev2Packet> packets;

  const Ikev2Packet* First(const std::string& kind) const {
    for (const auto& p : packets)
      if (p.kind == kind) return &p;
    return nullptr;
  }
};

std::optional<Ikev2Vector> LoadIkev2Vector(const std::filesystem::path& path) {
  std::string err;
  auto f = VecFile::Load(path, &err);
  if (!f) {
    ADD_FAILURE() << err;
    return std::nullopt;
  }
  Ikev2Vector v;
  v.file = std::move(*f);
  EXPECT_EQ(v.file.Str("format"), "ikev2");
  auto prf = HashFromName(v.file.Str("ike.prf"));
  auto encr = Ikev2EncrFromName(v.file.Str("ike.encr"));
  auto integ = Ikev2IntegFromName(v.file.Str("ike.integ"));
  if (!prf || !encr || !integ) {
    ADD_FAILURE() << path << ": unknown ike.prf/ike.encr/ike.integ";
    return std::nullopt;
  }
  v.suite = crypto::IkeSuite{*prf, *encr, *integ};
  v.psk = v.file.Hex("psk");
  v.spi_i = v.file.Hex("spi_i");
  v.spi_r = v.file.Hex("spi_r");
  v.ni = v.file.Hex("ni");
  v.nr = v.file.Hex("nr");
  v.gi = v.file.Hex("gi");
  v.gr = v.file.Hex("gr");
  v.g_ir = v.file.Hex("g_ir");
  const uint64_t count = v.file.Num("packet.count");
  for (uint64_t i = 1; i <= count; ++i) {
    const std::string k = "packet." + std::to_string(i);
    Ikev2Packet p;
    p.n = static_cast<int>(i);
    p.dir = v.file.Str(k + ".dir");
    p.kind = v.file.Str(k + ".kind");
    p.mid = static_cast<uint32_t>(v.file.Num(k + ".mid"));
    p.msg = v.file.Hex(k);
    if (v.file.Has(k + ".sk_offset")) {
      p.sk_offset = v.file.Num(k + ".sk_offset");
      p.iv = v.file.Hex(k + ".iv");
      p.plain = v.file.Hex(k + ".plain");
      p.pad_len = v.file.Num(k + ".pad_len");
    }
    v.packets.push_back(std::move(p));
  }
  return v;
}

class Ikev2VectorTest : public ::testing::TestWithParam<std::filesystem::path> {
 protected:
  void SetUp() override {
    auto v = LoadIkev2Vector(GetParam());
    ASSERT_TRUE(v.has_value());
    v_.emplace(std::move(*v));
    ASSERT_TRUE(crypto::CheckSuite(v_->suite).has_value());
    const SecretBytes seed = crypto::Skeyseed(v_->suite.prf, v_->ni, v_->nr, v_->g_ir);
    auto keys =
        crypto::DeriveIkeSaKeys(v_->suite, seed.span(), v_->ni, v_->nr, v_->spi_i, v_->spi_r);
    ASSERT_TRUE(keys.has_value()) << keys.error().detail;
    keys_.emplace(std::move(*keys));
  }
  Ikev2Vector& v() { return *v_; }
  const crypto::IkeSaKeys& keys() const { return *keys_; }
  crypto::SkKeys SenderKeys(const Ikev2Packet& p) const {
    return crypto::SkKeysFor(v_->suite, *keys_, p.from_initiator());
  }

  std::optional<Ikev2Vector> v_;
  std::optional<crypto::IkeSaKeys> keys_;
};

TEST(VectorFilesTest, DirectoryHasTheIkev2Proposals) {
  std::set<std::string> names;
  for (const auto& p : VectorFiles(/*ikev2=*/true)) names.insert(p.filename().string());
  EXPECT_TRUE(names.count("ikev2-aes128-sha256-modp2048.vec")) << "CBC + HMAC-SHA2";
  EXPECT_TRUE(names.count("ikev2-aes256gcm16-prfsha384-ecp384.vec")) << "AES-GCM";
}

TEST_P(Ikev2VectorTest, IkeSaKeysMatchCharonLog) {
  const auto& f = v().file;
  const SecretBytes seed = crypto::Skeyseed(v().suite.prf, v().ni, v().nr, v().g_ir);
  EXPECT_EQ(H(seed.span()), f.Str("skeyseed"));
  EXPECT_EQ(H(keys().sk_d.span()), f.Str("sk_d"));
  EXPECT_EQ(H(keys().sk_ai.span()), f.Str("sk_ai"));
  EXPECT_EQ(H(keys().sk_ar.span()), f.Str("sk_ar"));
  EXPECT_EQ(H(keys().sk_ei.span()), f.Str("sk_ei"));
  EXPECT_EQ(H(keys().sk_er.span()), f.Str("sk_er"));
  EXPECT_EQ(H(keys().sk_pi.span()), f.Str("sk_pi"));
  EXPECT_EQ(H(keys().sk_pr.span()), f.Str("sk_pr"));
  const auto group = static_cast<uint16_t>(f.Num("ike.dh_group"));
  EXPECT_EQ(v().gi.size(), crypto::PublicValueLength(group));
  EXPECT_EQ(v().gr.size(), crypto::PublicValueLength(group));
}

TEST_P(Ikev2VectorTest, ChildSaKeysMatchCharonLog) {
  const auto& f = v().file;
  const crypto::ChildSaKeys c =
      crypto::DeriveChildSaKeys(v().suite.prf, keys().sk_d.span(), std::nullopt, v().ni, v().nr,
                                f.Num("esp.encr_key_length"), f.Num("esp.integ_key_length"));
  EXPECT_EQ(H(c.encr_i.span()), f.Str("child.encr_i"));
  EXPECT_EQ(H(c.integ_i.span()), f.Str("child.integ_i"));
  EXPECT_EQ(H(c.encr_r.span()), f.Str("child.encr_r"));
  EXPECT_EQ(H(c.integ_r.span()), f.Str("child.integ_r"));
}

TEST_P(Ikev2VectorTest, IkeSaInitRoundTrips) {
  for (const std::string kind : {"IKE_SA_INIT_REQUEST", "IKE_SA_INIT_RESPONSE"}) {
    SCOPED_TRACE(kind);
    const Ikev2Packet* p = v().First(kind);
    ASSERT_NE(p, nullptr);
    auto m = ikev2::ParseMessage(p->msg);
    ASSERT_TRUE(m.has_value()) << m.error().detail << " at " << m.error().offset;
    EXPECT_EQ(H(ikev2::BuildMessage(m->header, m->payloads)), H(p->msg));
    EXPECT_EQ(m->header.exchange, ikev2::ExchangeType::kIkeSaInit);
    EXPECT_EQ(H(m->header.spi_i), H(v().spi_i));
    EXPECT_EQ(H(m->header.spi_r),
              kind == "IKE_SA_INIT_REQUEST" ? std::string(16, '0') : H(v().spi_r));
    const bool req = kind == "IKE_SA_INIT_REQUEST";
    const auto* nonce = ikev2::Find<ikev2::NoncePayload>(m->payloads);
    const auto* ke = ikev2::Find<ikev2::KePayload>(m->payloads);
    ASSERT_NE(nonce, nullptr);
    ASSERT_NE(ke, nullptr);
    EXPECT_EQ(H(nonce->data), H(req ? v().ni : v().nr));
    EXPECT_EQ(H(ke->data), H(req ? v().gi : v().gr));
    EXPECT_EQ(ke->dh_group, v().file.Num("ike.dh_group"));
  }
}

TEST_P(Ikev2VectorTest, EncryptedMessagesDecryptParseAndReprotect) {
  const size_t iv_len = crypto::IvLength(v().suite.encr);
  const size_t icv_len = crypto::IcvLength(v().suite.encr, v().suite.integ);
  int encrypted = 0;
  for (const Ikev2Packet& p : v().packets) {
    if (!p.sk_offset) continue;
    ++encrypted;
    SCOPED_TRACE("packet " + std::to_string(p.n) + " " + p.kind + " " + p.dir);
    // Header and outer chain; the SK payload where the vector says.
    auto m = ikev2::ParseMessage(p.msg);
    ASSERT_TRUE(m.has_value()) << m.error().detail;
    EXPECT_EQ(m->header.message_id, p.mid);
    EXPECT_EQ(m->header.initiator(), p.from_initiator()) << "I flag = original initiator";
    EXPECT_EQ(m->header.response(), p.kind.find("_RESPONSE") != std::string::npos);
    auto sk = ikev2::LocateSk(p.msg, iv_len, icv_len);
    ASSERT_TRUE(sk.has_value()) << sk.error().detail;
    EXPECT_EQ(sk->payload_offset, *p.sk_offset);
    EXPECT_EQ(H(sk->Iv(p.msg)), H(p.iv));
    EXPECT_EQ(H(ikev2::BuildMessage(m->header, m->payloads)), H(p.msg))
        << "outer chain (header + SK as opaque bytes) re-serializes";

    // Check and decrypt: exactly what the sender logged.
    const crypto::SkKeys k = SenderKeys(p);
    auto plain = crypto::UnprotectSk(k, p.msg, *p.sk_offset);
    ASSERT_TRUE(plain.has_value()) << plain.error().detail;
    EXPECT_EQ(H(*plain), H(p.plain));
    const size_t ct_len = sk->Ciphertext(p.msg).size();
    EXPECT_EQ(ct_len, p.plain.size() + p.pad_len + 1) << "padding length";
    // The other side's keys do not open it.
    EXPECT_FALSE(crypto::UnprotectSk(crypto::SkKeysFor(v().suite, keys(), !p.from_initiator()),
                                     p.msg, *p.sk_offset)
                     .has_value());
    // A flipped bit in the ICV is refused.
    Bytes bad = p.msg;
    bad.back() ^= 0x80;
    EXPECT_FALSE(crypto::UnprotectSk(k, bad, *p.sk_offset).has_value());

    // Inner payloads: parse and re-serialize to the same bytes.
    auto inner = ikev2::ParsePayloads(sk->inner_next, *plain, 0, ikev2::ChainKind::kInner);
    ASSERT_TRUE(inner.has_value()) << inner.error().detail << " at " << inner.error().offset;
    EXPECT_EQ(H(ikev2::SerializePayloads(*inner)), H(*plain));

    // Re-protect with the captured IV. GCM has no padding: the same datagram. CBC: strongSwan's
    // padding bytes are random, so only the blocks before the first padded one must agree.
    FixedRandom fixed(p.iv);
    auto again = crypto::ProtectSk(k, ByteSpan(p.msg).first(*p.sk_offset + 4), *plain, fixed);
    ASSERT_TRUE(again.has_value()) << again.error().detail;
    if (crypto::IsAead(v().suite.encr)) {
      EXPECT_EQ(H(*again), H(p.msg)) << "re-protected datagram differs";
    } else {
      ASSERT_EQ(again->size(), p.msg.size()) << "strongSwan pads CBC minimally, as we do";
      const size_t same = *p.sk_offset + 4 + iv_len + (plain->size() / 16) * 16;
      EXPECT_EQ(H(ByteSpan(*again).first(same)), H(ByteSpan(p.msg).first(same)));
      auto back = crypto::UnprotectSk(k, *again, *p.sk_offset);
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(H(*back), H(*plain));
    }

    // Contents by kind.
    if (p.kind == "LIVENESS_REQUEST" || p.kind == "LIVENESS_RESPONSE" ||
        p.kind == "DELETE_RESPONSE") {
      EXPECT_TRUE(plain->empty()) << "an empty INFORMATIONAL";
      EXPECT_EQ(sk->inner_next, ikev2::PayloadType::kNone);
    } else if (p.kind == "DELETE_REQUEST") {
      ASSERT_EQ(inner->size(), 1u);
      const auto* d = ikev2::Find<ikev2::DeletePayload>(*inner);
      ASSERT_NE(d, nullptr);
      EXPECT_EQ(d->protocol_id, static_cast<uint8_t>(ikev2::ProtocolId::kIke));
      EXPECT_EQ(d->spi_size, 0);
      EXPECT_TRUE(d->spis.empty());
    }
  }
  EXPECT_GE(encrypted, 6) << "IKE_AUTH x2, a liveness exchange, a Delete exchange";
}

TEST_P(Ikev2VectorTest, PskAuthRecomputes) {
  const auto& f = v().file;
  const Ikev2Packet* init_req = v().First("IKE_SA_INIT_REQUEST");
  const Ikev2Packet* init_resp = v().First("IKE_SA_INIT_RESPONSE");
  ASSERT_NE(init_req, nullptr);
  ASSERT_NE(init_resp, nullptr);
  for (const std::string kind : {"IKE_AUTH_REQUEST", "IKE_AUTH_RESPONSE"}) {
    SCOPED_TRACE(kind);
    const bool initiator = kind == "IKE_AUTH_REQUEST";
    const Ikev2Packet* p = v().First(kind);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(p->sk_offset.has_value());
    auto plain = crypto::UnprotectSk(SenderKeys(*p), p->msg, *p->sk_offset);
    ASSERT_TRUE(plain.has_value());
    auto inner = ikev2::ParsePayloads(static_cast<ikev2::PayloadType>(p->msg[*p->sk_offset]),
                                      *plain, 0, ikev2::ChainKind::kInner);
    ASSERT_TRUE(inner.has_value());
    const ikev2::Payload* id =
        ikev2::FindType(*inner, initiator ? ikev2::PayloadType::kIdi : ikev2::PayloadType::kIdr);
    const auto* auth = ikev2::Find<ikev2::AuthPayload>(*inner);
    ASSERT_NE(id, nullptr);
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(auth->method, static_cast<uint8_t>(ikev2::AuthMethod::kSharedKey));
    // RestOfIDPayload: the received body bytes, which SerializeBody reproduces.
    const Bytes id_body = Sub(*plain, id->offset + 4, id->length - 4);
    EXPECT_EQ(H(ikev2::SerializeBody(id->body)), H(id_body));
    EXPECT_EQ(H(id_body), f.Str(initiator ? "idi" : "idr"));
    EXPECT_EQ(H(auth->data), f.Str(initiator ? "auth_i" : "auth_r"));
    // Initiator: its IKE_SA_INIT request | Nr | prf(SK_pi, IDi); responder: its response |
    // Ni | prf(SK_pr, IDr).
    const Bytes& real = initiator ? init_req->msg : init_resp->msg;
    const Bytes& nonce = initiator ? v().nr : v().ni;
    const ByteSpan sk_p = initiator ? keys().sk_pi.span() : keys().sk_pr.span();
    const SecretBytes want = crypto::PskAuth(v().suite.prf, v().psk, real, nonce, sk_p, id_body);
    EXPECT_EQ(H(want.span()), H(auth->data));
    EXPECT_TRUE(
        crypto::VerifyPskAuth(v().suite.prf, v().psk, real, nonce, sk_p, id_body, auth->data));
    // The other side's IKE_SA_INIT message in the octets does not verify.
    const Bytes& wrong = initiator ? init_resp->msg : init_req->msg;
    EXPECT_FALSE(
        crypto::VerifyPskAuth(v().suite.prf, v().psk, wrong, nonce, sk_p, id_body, auth->data));
  }
}

TEST_P(Ikev2VectorTest, ExchangesAreComplete) {
  std::map<std::string, int> count;
  std::map<std::pair<std::string, uint32_t>, std::string> requests;  // (dir, mid) -> kind
  for (const Ikev2Packet& p : v().packets) {
    ++count[p.kind];
    const auto pos = p.kind.find("_RESPONSE");
    if (pos == std::string::npos) {
      requests[{p.dir, p.mid}] = p.kind;
    } else {
      // A response answers the request with its message ID sent the other way.
      const std::string other = p.dir == "i2r" ? "r2i" : "i2r";
      auto it = requests.find({other, p.mid});
      ASSERT_NE(it, requests.end()) << "packet " << p.n << ": response to no request";
      EXPECT_EQ(it->second, p.kind.substr(0, pos) + "_REQUEST");
    }
  }
  EXPECT_EQ(count["IKE_SA_INIT_REQUEST"], 1);
  EXPECT_EQ(count["IKE_SA_INIT_RESPONSE"], 1);
  EXPECT_EQ(count["IKE_AUTH_REQUEST"], 1);
  EXPECT_EQ(count["IKE_AUTH_RESPONSE"], 1);
  EXPECT_GE(count["LIVENESS_REQUEST"], 1);
  EXPECT_EQ(count["LIVENESS_RESPONSE"], count["LIVENESS_REQUEST"]);
  EXPECT_EQ(count["DELETE_REQUEST"], 1);
  EXPECT_EQ(count["DELETE_RESPONSE"], 1);
}

INSTANTIATE_TEST_SUITE_P(StrongSwan598, Ikev2VectorTest,
                         ::testing::ValuesIn(VectorFiles(/*ikev2=*/true)), ParamName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Ikev2VectorTest);

}  // namespace
}  // namespace ikepulse
