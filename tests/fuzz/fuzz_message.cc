// libFuzzer target for a whole datagram: ParseHeader, then ParsePayloads over the body the
// header's length covers (as a plaintext message would be handled), then a rebuild of the
// message from the parsed values must parse again.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "isakmp/header.h"
#include "isakmp/payloads.h"

using namespace ikepulse;
using namespace ikepulse::isakmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan datagram(data, size);
  auto h = ParseHeader(datagram);
  if (!h) return 0;
  ByteSpan body = datagram.subspan(kHeaderSize, h->length - kHeaderSize);
  auto chain = ParsePayloads(h->next_payload, body, kHeaderSize);
  if (!chain) {
    FUZZ_CHECK(chain.error().offset >= kHeaderSize && chain.error().offset <= h->length);
    return 0;
  }
  Header rebuilt = *h;
  rebuilt.next_payload = chain->empty() ? PayloadType::kNone : (*chain)[0].type;
  Bytes msg = BuildMessage(rebuilt, SerializePayloads(*chain));
  auto h2 = ParseHeader(msg);
  FUZZ_CHECK(h2.has_value() && h2->length == msg.size());
  auto chain2 = ParsePayloads(h2->next_payload, ByteSpan(msg).subspan(kHeaderSize), kHeaderSize);
  FUZZ_CHECK(chain2.has_value() && *chain2 == *chain);
  return 0;
}
