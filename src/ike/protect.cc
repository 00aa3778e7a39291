#include "ike/protect.h"

namespace ikepulse::ike {

Bytes SealMessage(isakmp::Header h, ByteSpan plain, crypto::CipherAlg c, ByteSpan key,
                  ByteSpan iv, Bytes* last_block) {
  const size_t bs = crypto::BlockSize(c);
  Bytes padded(plain.begin(), plain.end());
  if (padded.empty() || padded.size() % bs) padded.resize((padded.size() / bs + 1) * bs, 0);
  auto enc = crypto::CbcEncrypt(c, key, iv, padded);
  IKEPULSE_CHECK(enc.has_value());  // sizes are ours: a failure is a programming error
  h.flags |= isakmp::kFlagEncryption;
  if (last_block) last_block->assign(enc->end() - bs, enc->end());
  return isakmp::BuildMessage(h, *enc);
}

Result<Bytes, OpenError> OpenMessage(ByteSpan msg, uint32_t length, crypto::CipherAlg c,
                                     ByteSpan key, ByteSpan iv, Bytes* last_block) {
  const size_t bs = crypto::BlockSize(c);
  if (length > msg.size() || length < isakmp::kHeaderSize)
    return MakeUnexpected(OpenError{"Message length past datagram."});
  ByteSpan body = msg.subspan(isakmp::kHeaderSize, length - isakmp::kHeaderSize);
  if (body.empty() || body.size() % bs)
    return MakeUnexpected(OpenError{"Encrypted body not a multiple of the block size."});
  auto dec = crypto::CbcDecrypt(c, key, iv, body);
  if (!dec) return MakeUnexpected(OpenError{"Decryption failed."});
  if (last_block) last_block->assign(body.end() - bs, body.end());
  return std::move(*dec);
}

Bytes HashedChainTemplate(const std::vector<isakmp::Payload>& rest, size_t hash_len) {
  const Bytes rest_bytes = isakmp::SerializePayloads(rest);
  isakmp::PayloadType next = isakmp::PayloadType::kNone;
  if (!rest.empty()) {
    next = rest.front().type != isakmp::PayloadType::kNone ? rest.front().type
                                                           : isakmp::TypeOf(rest.front().body);
  }
  const size_t hash_payload = isakmp::kGenericHeaderSize + hash_len;
  IKEPULSE_CHECK(hash_payload <= 0xffff);
  Bytes bytes;
  bytes.reserve(hash_payload + rest_bytes.size());
  bytes.push_back(static_cast<uint8_t>(next));
  bytes.push_back(0);
  bytes.push_back(static_cast<uint8_t>(hash_payload >> 8));
  bytes.push_back(static_cast<uint8_t>(hash_payload & 0xff));
  bytes.resize(hash_payload, 0);
  bytes.insert(bytes.end(), rest_bytes.begin(), rest_bytes.end());
  return bytes;
}

size_t ChainEnd(const std::vector<isakmp::Payload>& chain) {
  size_t end = 0;
  for (const auto& p : chain) end = std::max<size_t>(end, p.offset + p.length);
  return end;
}

Bytes BytesCoveredByHash(const std::vector<isakmp::Payload>& chain, ByteSpan plain) {
  Bytes out;
  if (chain.empty()) return out;
  if (chain.front().type == isakmp::PayloadType::kHash) {
    const size_t start = chain.front().offset + chain.front().length;
    const size_t end = ChainEnd(chain);
    if (start <= end && end <= plain.size()) out.assign(plain.begin() + start, plain.begin() + end);
    return out;
  }
  // NOTIFY-then-HASH (tolerated): every non-HASH payload, in order, as received. The next
  // payload field of the payload before the HASH points at the HASH, so for an exact match
  // with what such a peer hashed we re-chain the non-HASH payloads.
  std::vector<isakmp::Payload> others;
  for (const auto& p : chain)
    if (p.type != isakmp::PayloadType::kHash) others.push_back(p);
  return isakmp::SerializePayloads(others);
}

}  // namespace ikepulse::ike
