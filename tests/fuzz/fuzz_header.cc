// libFuzzer target for isakmp::ParseHeader: any input either fails cleanly or yields a header
// whose length fits the input and which re-serializes to the same 28 bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "isakmp/header.h"

using namespace ikepulse;
using namespace ikepulse::isakmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  auto h = ParseHeader(in);
  if (!h) {
    FUZZ_CHECK(h.error().detail != nullptr && h.error().offset <= kHeaderSize);
    return 0;
  }
  FUZZ_CHECK(h->length >= kHeaderSize && h->length <= size);
  Bytes out;
  ByteWriter w(out);
  SerializeHeader(*h, w);
  FUZZ_CHECK(out.size() == kHeaderSize && std::equal(out.begin(), out.end(), data));
  auto again = ParseHeader(ByteSpan(data, h->length));
  FUZZ_CHECK(again.has_value() && *again == *h);
  return 0;
}
