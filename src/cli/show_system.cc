// The everyday system commands: `show clock`, `show logging`, `show ip interface brief`,
// `show access-lists`, `show crypto ipsec transform-set`; `clear logging`; and the global
// configuration command `logging buffered [SIZE]` / `no logging buffered`.
#include <cstdio>
#include <ctime>

#include "cli/command_tree.h"
#include "cli/config_util.h"
#include "cli/show.h"

namespace ikepulse::cli {

namespace {

constexpr const char* kDays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::optional<std::string> ShowClock(CommandContext& ctx) {
  const int64_t ms = ctx.backend->WallClockMs();
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Field("unix_ms", ms).EndObject();
    ctx.out += w.Take();
    return std::nullopt;
  }
  ctx.out += FormatClock(ms);
  return std::nullopt;
}

std::optional<std::string> ShowLogging(CommandContext& ctx) {
  const LogBufferInfo log = ctx.backend->LogBuffer();
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject()
        .Field("buffered", log.enabled)
        .Field("size", static_cast<uint64_t>(log.size))
        .Field("logged", log.logged)
        .Key("lines")
        .BeginArray();
    for (const auto& l : log.lines) w.String(l);
    w.EndArray().EndObject();
    ctx.out += w.Take();
    return std::nullopt;
  }
  ctx.out += FormatLogging(log);
  return std::nullopt;
}

// Machine output of the table-like shows: their IOS text in a JSON object.
std::optional<std::string> Emit(CommandContext& ctx, std::string text) {
  if (!ctx.json) {
    ctx.out += text;
    return std::nullopt;
  }
  JsonWriter w;
  w.BeginObject().Field("text", text).EndObject();
  ctx.out += w.Take();
  return std::nullopt;
}

std::optional<std::string> ShowInterfacesBrief(CommandContext& ctx) {
  return Emit(ctx, FormatIpInterfaceBrief(ctx.backend->Running(), *ctx.backend));
}

std::optional<std::string> ShowAccessLists(CommandContext& ctx) {
  const std::string name = ctx.args.Has("aclname") ? ctx.args.Get("aclname") : "";
  return Emit(ctx, FormatAccessLists(ctx.backend->Running(), *ctx.backend, name));
}

std::optional<std::string> ShowTransformSets(CommandContext& ctx) {
  const std::string name = ctx.args.Has("tsname") ? ctx.args.Get("tsname") : "";
  return Emit(ctx, FormatTransformSets(ctx.backend->Running(), name));
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  else
    s += ' ';
  return s;
}

}  // namespace

std::string FormatClock(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  // '*': the clock is not known to be synchronised (IOS's mark without NTP).
  std::snprintf(buf, sizeof buf, "*%02d:%02d:%02d.%03d UTC %s %s %d %d\n", tm.tm_hour, tm.tm_min,
                tm.tm_sec, static_cast<int>(unix_ms % 1000), kDays[tm.tm_wday % 7],
                kMonths[tm.tm_mon % 12], tm.tm_mday, tm.tm_year + 1900);
  return buf;
}

std::string FormatLogging(const LogBufferInfo& log) {
  std::string out =
      "Syslog logging: enabled (0 messages dropped, 0 messages rate-limited, 0 flushes, "
      "0 overruns, xml disabled, filtering disabled)\n\n"
      "    Console logging: disabled\n";
  if (!log.enabled) {
    out +=
        "    Buffer logging:  disabled, xml disabled,\n                     filtering disabled\n";
    return out;
  }
  out += "    Buffer logging:  level debugging, " + std::to_string(log.logged) +
         " messages logged, xml disabled,\n                     filtering disabled\n\n";
  out += "Log Buffer (" + std::to_string(log.size) + " bytes):\n\n";
  for (const auto& l : log.lines) out += l + "\n";
  return out;
}

std::string FormatIpInterfaceBrief(const config::Config& c, Backend& backend) {
  std::string out =
      "Interface                  IP-Address      OK? Method Status                "
      "Protocol\n";
  for (const auto& i : c.interfaces) {
    const auto link = backend.InterfaceState(i.name);
    std::optional<IpAddress> addr = i.address;
    if (!addr && link) addr = link->address;
    std::string status, protocol;
    if (i.shutdown) {
      status = "administratively down";
      protocol = "down";
    } else if (!link) {
      status = "down";
      protocol = "down";
    } else {
      status = link->admin_up ? "up" : "down";
      protocol = link->admin_up && link->running ? "up" : "down";
    }
    out += Pad(i.name, 27) + Pad(addr ? addr->ToString() : "unassigned", 16) + "YES " +
           Pad(i.address ? "manual" : "unset", 7) + Pad(status, 22) + protocol + "\n";
  }
  return out;
}

std::string FormatAccessLists(const config::Config& c, Backend& backend, const std::string& only) {
  std::string out;
  for (const auto& [name, acl] : c.acls) {
    if (!only.empty() && name != only) continue;
    out += "Extended IP access list " + name + "\n";
    const auto matches = backend.AclMatches(name);
    for (size_t k = 0; k < acl.entries.size(); ++k) {
      const auto& e = acl.entries[k];
      out += "    " + std::to_string((k + 1) * 10) + " " + (e.permit ? "permit " : "deny ") +
             ProtocolName(e.protocol) + " " + AclOperand(e.src, e.src_wildcard) + " " +
             AclOperand(e.dst, e.dst_wildcard);
      // IOS prints the counter only once a line has matched.
      if (k < matches.size() && matches[k] > 0)
        out += " (" + std::to_string(matches[k]) + (matches[k] == 1 ? " match)" : " matches)");
      out += "\n";
    }
  }
  return out;
}

std::string FormatTransformSets(const config::Config& c, const std::string& only) {
  std::string out;
  for (const auto& [name, ts] : c.transform_sets) {
    if (!only.empty() && name != only) continue;
    out += "Transform set " + name + ": { " + EspCipherName(ts.cipher);
    if (ts.auth != config::EspAuth::kNone) out += " " + EspAuthName(ts.auth);
    out += "  }\n   will negotiate = { ";
    out += ts.mode == config::IpsecMode::kTunnel ? "Tunnel" : "Transport";
    out += ",  },\n\n";
  }
  return out;
}

void AddSystemCommands(Grammar& g) {
  Node* user_show = g.Kw(g.root(Mode::kUserExec), "show", "Show running system information");
  g.Kw(user_show, "clock", "Display the system clock")->handler = ShowClock;

  Node* show = g.Kw(g.root(Mode::kPrivExec), "show", "Show running system information");
  g.Kw(show, "clock", "Display the system clock")->handler = ShowClock;
  g.Kw(show, "logging", "Show the contents of logging buffers")->handler = ShowLogging;
  Node* ip = g.Kw(show, "ip", "IP information");
  Node* ipif = g.Kw(ip, "interface", "IP interface status and configuration");
  g.Kw(ipif, "brief", "Brief summary of IP status and configuration")->handler =
      ShowInterfacesBrief;
  Node* acls = g.Kw(show, "access-lists", "List access lists");
  acls->handler = ShowAccessLists;
  g.Word(acls, "WORD", "ACL name or number", "aclname")->handler = ShowAccessLists;
  Node* crypto = g.Kw(show, "crypto", "Encryption module");
  Node* ipsec = g.Kw(crypto, "ipsec", "Show IPSEC policy");
  Node* ts = g.Kw(ipsec, "transform-set", "Crypto transform sets");
  ts->handler = ShowTransformSets;
  Node* tag = g.Kw(ts, "tag", "Show a transform set with the given name");
  g.Word(tag, "WORD", "Transform set name", "tsname")->handler = ShowTransformSets;

  Node* clear = g.Kw(g.root(Mode::kPrivExec), "clear", "Reset functions");
  g.Kw(clear, "logging", "Clear logging buffer")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.backend->ClearLogging();
    return std::nullopt;
  };

  // logging buffered [<4096-2147483647>] / no logging buffered
  Node* logging = g.Kw(g.root(Mode::kConfig), "logging", "Modify message logging facilities");
  Node* buffered = g.Kw(logging, "buffered", "Set buffered logging parameters");
  auto set_size = [](CommandContext& ctx, uint32_t size) -> std::optional<std::string> {
    ctx.config->logging_buffered = true;
    ctx.config->logging_buffer_size = size;
    return std::nullopt;
  };
  buffered->handler = [set_size](CommandContext& ctx) {
    return set_size(ctx, config::kDefaultLoggingBufferSize);
  };
  Node* size = g.Num(buffered, config::kMinLoggingBufferSize, config::kMaxLoggingBufferSize,
                     "Logging buffer size", "size");
  size->handler = [set_size](CommandContext& ctx) {
    return set_size(ctx, static_cast<uint32_t>(std::stoul(ctx.args.Get("size"))));
  };
  auto off = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->logging_buffered = false;
    ctx.config->logging_buffer_size = config::kDefaultLoggingBufferSize;
    return std::nullopt;
  };
  buffered->no_handler = off;
  size->no_handler = off;
}

}  // namespace ikepulse::cli
