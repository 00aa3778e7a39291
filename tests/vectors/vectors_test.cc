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

std::vector<std::filesystem::path> VectorFiles() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(IKEPULSE_VECTOR_DIR, ec)) {
    if (e.path().extension() == ".vec") files.push_back(e.path());
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

}  // namespace
}  // namespace ikepulse
