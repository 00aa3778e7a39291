// The public face of src/cli: the IOS configuration language as data.
//
//   ParseConfigText   a whole startup-config -> config::Config, or the first error (line,
//                     column, IOS message). The daemon loads its startup-config with it.
//   RenderRunningConfig  config::Config -> IOS running-config text (IOS order/indentation).
//                     ParseConfigText(RenderRunningConfig(c)) == c for every valid c.
//   ShowJson          a `show ...` command answered as JSON (machine-readable snapshots).
//
// The interactive side (modes, prompts, `?`, Tab, show/clear/debug) is cli::Session
// (session.h), over a cli::Backend (backend.h).
#pragma once

#include <string>
#include <string_view>

#include "cli/backend.h"
#include "cli/cli_error.h"
#include "common/result.h"
#include "config/config.h"

namespace ikepulse::cli {

// Parses configuration text as IOS applies a startup-config: in global configuration mode,
// line by line, sub-modes entered by their commands and left by `exit` or by any command that
// belongs to the global mode (IOS fallback; indentation is not significant). Blank lines and
// lines starting with `!` are skipped; a line `end` stops parsing. The first rejected line
// ends the parse: CliError{line (1-based), column (1-based start of the offending token),
// message (the IOS text, e.g. "% Invalid input detected at '^' marker.")}.
Result<config::Config, CliError> ParseConfigText(std::string_view text);

// The running-config text: `!` separators, hostname, enable secret, IKEv2 proposals,
// policies, keyrings and profiles and `crypto ikev2 dpd`, ISAKMP policies, keys,
// keepalive, NAT keepalive, ikepulse globals, transform sets, crypto maps, interfaces,
// named then numbered access lists, `end`. Pre-shared keys are shown in clear, as IOS does
// without `service password-encryption`; never log this text.
std::string RenderRunningConfig(const config::Config& config);

// JSON for a show command given as typed (abbreviations allowed), e.g.
// "show crypto isakmp sa", "sh cry ipsec sa peer 10.0.0.1", "show crypto session",
// "show crypto map", "show crypto isakmp policy", "show crypto ikev2 profile",
// "show debugging", "show version".
// Unknown or invalid commands give {"error": "..."}.
std::string ShowJson(Backend& backend, std::string_view show_command);

}  // namespace ikepulse::cli
