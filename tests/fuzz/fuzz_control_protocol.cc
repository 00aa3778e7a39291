// libFuzzer target for the control protocol decoder (src/cli/shell/protocol.h). Feeds the input
// to both directions' decoders, split at a point chosen by the first byte, and checks that
// every decoded message re-encodes to bytes that decode to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/shell/protocol.h"

namespace {

using ikepulse::shell::AsyncLine;
using ikepulse::shell::FrameDecoder;
using ikepulse::shell::Reply;
using ikepulse::shell::Request;
using ikepulse::shell::ServerMessage;

void CheckRequestRoundTrip(const Request& request) {
  FrameDecoder again(ikepulse::shell::kMaxRequestBody);
  again.Append(ikepulse::shell::EncodeRequest(request));
  auto r = again.NextRequest();
  if (!r || !r->has_value() || **r != request) std::abort();
}

void CheckServerRoundTrip(const ServerMessage& message) {
  FrameDecoder again(ikepulse::shell::kMaxReplyBody);
  if (const auto* reply = std::get_if<Reply>(&message)) {
    again.Append(ikepulse::shell::EncodeReply(*reply));
  } else if (const auto* part = std::get_if<ikepulse::shell::PartialOutput>(&message)) {
    again.Append(ikepulse::shell::EncodePartial(part->text));
  } else {
    again.Append(ikepulse::shell::EncodeAsync(std::get<AsyncLine>(message).text));
  }
  auto r = again.NextServerMessage();
  if (!r || !r->has_value() || **r != message) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = size == 0 ? 0 : static_cast<uint8_t>(input[0]) % (size + 1);

  FrameDecoder requests(1024);
  requests.Append(input.substr(0, split));
  for (int pass = 0; pass < 2; ++pass) {
    for (;;) {
      auto next = requests.NextRequest();
      if (!next || !next->has_value()) break;
      CheckRequestRoundTrip(**next);
    }
    requests.Append(input.substr(split));
  }

  FrameDecoder server(4096);
  server.Append(input.substr(0, split));
  for (int pass = 0; pass < 2; ++pass) {
    for (;;) {
      auto next = server.NextServerMessage();
      if (!next || !next->has_value()) break;
      CheckServerRoundTrip(**next);
    }
    server.Append(input.substr(split));
  }
  return 0;
}
