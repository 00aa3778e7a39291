// libFuzzer target for the IOS language: arbitrary text through cli::ParseConfigText (the
// startup-config parser) and, line by line, through a cli::Session (the interactive parser,
// `?` help and Tab completion). Invariants: no crash; a text that parses renders to a
// running-config that parses back to the same configuration.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/cli.h"
#include "cli/fake_backend.h"
#include "cli/session.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ikepulse::cli::ParseConfigText(text);
  if (parsed) {
    const std::string rendered = ikepulse::cli::RenderRunningConfig(*parsed);
    auto again = ikepulse::cli::ParseConfigText(rendered);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *parsed);
  }
  ikepulse::cli::FakeBackend backend;
  ikepulse::cli::Session session(backend);
  session.Execute("enable");
  size_t start = 0;
  for (int lines = 0; start <= text.size() && lines < 64; ++lines) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    (void)session.Help(line);
    (void)session.Complete(line);
    (void)session.Execute(line);
    start = end + 1;
  }
  return 0;
}
