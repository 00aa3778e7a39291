// Forger: what a peer that holds the keys can send, for the engine fuzz target.
//
// It is shown every datagram exchanged between the two nodes (and every message it forged),
// recovers each ISAKMP SA's keys from its Main Mode (pre-shared key, nonces, cookies, and the
// g^xy of the fixed fuzzing DH key pair both nodes use), follows each encrypted Quick Mode /
// Informational exchange (IV chain, nonces), and builds encrypted messages with a correct
// HASH(1), HASH(2) or HASH(3) in front of fuzz-chosen payload bytes. So fuzz inputs get past
// decryption and the HASH check, into notify/delete/DPD handling and Quick Mode validation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "crypto/crypto.h"
#include "crypto/ikev1_keys.h"
#include "isakmp/header.h"

namespace ikepulse::fuzz {

struct Forged {
  Bytes data;
  IpAddress to;  // the node it is meant for
};

class Forger {
 public:
  Forger(std::string psk, crypto::HashAlg prf, crypto::CipherAlg cipher, uint16_t group);

  // A datagram `data` sent by `from` (non-ESP marker allowed). Bounded: past 64 SAs or 256
  // exchanges new ones are ignored.
  void Record(const IpAddress& from, ByteSpan data);

  size_t sa_count() const { return complete_.size(); }
  size_t exchange_count() const { return exchanges_.size(); }
  // CKY-I | CKY-R of complete phase-1 SA `sa` (modulo the count); empty if there is none.
  Bytes Cookies(size_t sa) const;

  // The first message of a new exchange (`x`: Quick Mode or Informational, M-ID `mid`) on
  // complete phase-1 SA `sa` (taken modulo the count): HASH(1) over `tail`, the payload chain
  // that follows it, of which `next` is the first type. Sent by either node (`from_initiator`
  // picks the phase-1 initiator or responder) to the other.
  std::optional<Forged> NewExchange(size_t sa, bool from_initiator, isakmp::ExchangeType x,
                                    uint32_t mid, uint8_t next, ByteSpan tail);

  // The next message of recorded exchange `index` (modulo the count), to the node that sent
  // its last message: HASH(2) (over Ni_b and `tail`) after one message, HASH(3) after two or
  // more (then `tail` is extra bytes the hash does not cover), HASH(1) style otherwise.
  std::optional<Forged> Continue(size_t index, uint8_t next, ByteSpan tail);

  // Recorded exchange `index`'s first message decrypted: the payload chain after its HASH
  // (`next` receives the first type). nullopt if it does not decrypt or parse.
  std::optional<Bytes> FirstTail(size_t index, uint8_t* next, isakmp::ExchangeType* x,
                                 uint32_t* mid, size_t* sa) const;

 private:
  struct Phase1 {
    isakmp::Cookie icookie{}, rcookie{};
    IpAddress initiator, responder;
    Bytes ni, nr, last_block;
    std::optional<crypto::Phase1Keys> keys;
  };
  struct Exchange {
    size_t sa;  // index into sas_
    uint32_t mid;
    isakmp::ExchangeType type;
    std::vector<Bytes> messages;  // distinct, in order
    std::vector<IpAddress> senders;
  };

  Phase1* FindSa(const isakmp::Cookie& icookie);
  // Decrypts the exchange's messages in order; `iv` receives the IV of the next message.
  std::vector<Bytes> Open(const Exchange& e, Bytes* iv) const;
  Bytes Seal(const Phase1& p, isakmp::ExchangeType x, uint32_t mid, ByteSpan iv, uint8_t next,
             ByteSpan tail, int hash_kind, ByteSpan ni, ByteSpan nr);

  std::string psk_;
  crypto::HashAlg prf_;
  crypto::CipherAlg cipher_;
  SecretBytes gxy_;
  std::vector<Phase1> sas_;
  std::vector<size_t> complete_;  // indices of sas_ with both nonces and the last MM6 block
  std::vector<Exchange> exchanges_;
};

}  // namespace ikepulse::fuzz
