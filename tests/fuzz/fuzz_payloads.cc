// libFuzzer target for isakmp::ParsePayloads. Input: first byte = the first payload type
// (as the ISAKMP header's next-payload field would give it), the rest = the message body.
// Whatever parses must serialize, re-parse, and compare equal; serialization is idempotent.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "isakmp/payloads.h"

using namespace ikepulse;
using namespace ikepulse::isakmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto first = static_cast<PayloadType>(data[0]);
  ByteSpan body(data + 1, size - 1);
  auto chain = ParsePayloads(first, body, 28);
  if (!chain) {
    FUZZ_CHECK(chain.error().detail != nullptr && chain.error().detail[0] != '\0');
    FUZZ_CHECK(chain.error().offset <= 28 + body.size());
    return 0;
  }
  for (const Payload& p : *chain) {
    FUZZ_CHECK(p.length >= kGenericHeaderSize && size_t{p.offset} + p.length <= body.size());
    FUZZ_CHECK(p.BodyIn(body).size() == p.length - kGenericHeaderSize);
  }
  std::vector<uint32_t> offsets;
  Bytes out = SerializePayloads(*chain, &offsets);
  FUZZ_CHECK(offsets.size() == chain->size());
  const PayloadType again_first = chain->empty() ? PayloadType::kNone : (*chain)[0].type;
  auto again = ParsePayloads(again_first, out);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *chain);
  for (size_t i = 0; i < again->size(); ++i) FUZZ_CHECK((*again)[i].offset == offsets[i]);
  FUZZ_CHECK(SerializePayloads(*again) == out);
  return 0;
}
