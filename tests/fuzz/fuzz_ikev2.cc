// libFuzzer target for the IKEv2 codec: ParseMessage on a whole datagram; for what parses, a
// rebuild must parse to the same message and rebuild to the same bytes, LocateSk must agree
// with the parsed SK payload, and the SK payload's bytes are also parsed as an inner chain
// (as a decrypted body would be) with the same round trip.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "fuzz_check.h"
#include "ikev2/message.h"

using namespace ikepulse;
using namespace ikepulse::ikev2;

namespace {

void CheckInner(const EncryptedPayload& sk) {
  auto inner = ParsePayloads(sk.inner_next, sk.data, 0, ChainKind::kInner);
  if (!inner) {
    FUZZ_CHECK(inner.error().offset <= sk.data.size());
    return;
  }
  Bytes again = SerializePayloads(*inner);
  auto inner2 = ParsePayloads(sk.inner_next, again, 0, ChainKind::kInner);
  FUZZ_CHECK(inner2.has_value() && *inner2 == *inner);
  FUZZ_CHECK(SerializePayloads(*inner2) == again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan datagram(data, size);
  auto m = ParseMessage(datagram);
  if (!m) {
    FUZZ_CHECK(m.error().offset <= size);
    return 0;
  }
  Bytes msg = BuildMessage(m->header, m->payloads);
  FUZZ_CHECK(msg.size() == m->header.length);
  auto m2 = ParseMessage(msg);
  FUZZ_CHECK(m2.has_value() && *m2 == *m);
  FUZZ_CHECK(BuildMessage(m2->header, m2->payloads) == msg);

  if (m->payloads.empty()) return 0;
  const Payload& last = m->payloads.back();
  const auto* sk = std::get_if<EncryptedPayload>(&last.body);
  auto layout = LocateSk(datagram, 0, 0);
  if (!sk) {
    FUZZ_CHECK(!layout.has_value());
    return 0;
  }
  const size_t fixed = last.type == PayloadType::kSkf ? 4 : 0;
  if (sk->data.size() > fixed) {
    FUZZ_CHECK(layout.has_value() && layout->payload_offset == last.offset &&
               layout->end == m->header.length && layout->inner_next == sk->inner_next);
  }
  CheckInner(*sk);
  return 0;
}
