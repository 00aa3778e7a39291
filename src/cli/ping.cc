// `ping A [source A.B.C.D|IF] [repeat N] [size S]` (user and privileged EXEC; the options in
// any order, each at most once, as IOS accepts them) and Session::Continue, which reports a
// running ping's progress.
#include "cli/ping.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "cli/command_tree.h"
#include "cli/config_util.h"
#include "cli/session.h"

namespace ikepulse::cli {

std::string PingHeader(const IpAddress& target, const PingStatus& status, bool source_given) {
  std::string out = "Type escape sequence to abort.\n";
  out += "Sending " + std::to_string(status.repeat) + ", " + std::to_string(status.size) +
         "-byte ICMP Echos to " + target.ToString() + ", timeout is " +
         std::to_string(kPingTimeoutSeconds) + " seconds:\n";
  if (source_given) out += "Packet sent with a source address of " + status.source.ToString() + " \n";
  return out;
}

std::string PingMarks(std::string_view marks, size_t shown) {
  std::string out;
  for (size_t i = shown; i < marks.size(); ++i) {
    if (i > 0 && i % kPingMarksPerLine == 0) out += '\n';
    out += marks[i];
  }
  return out;
}

std::string PingSummary(const PingStatus& s) {
  const uint64_t sent = s.marks.size();
  const uint64_t ok = s.rtt_ms.size();
  std::string out = "\nSuccess rate is " + std::to_string(sent ? ok * 100 / sent : 0) +
                    " percent (" + std::to_string(ok) + "/" + std::to_string(sent) + ")";
  if (ok > 0) {
    const auto [lo, hi] = std::minmax_element(s.rtt_ms.begin(), s.rtt_ms.end());
    const uint64_t sum = std::accumulate(s.rtt_ms.begin(), s.rtt_ms.end(), uint64_t{0});
    out += ", round-trip min/avg/max = " + std::to_string(*lo) + "/" + std::to_string(sum / ok) +
           "/" + std::to_string(*hi) + " ms";
  }
  return out + "\n";
}

Session::Reply Session::Continue() {
  if (stream_) return ContinueStream();
  if (ping_ == 0) return {};
  const std::optional<PingStatus> st = backend_.PingProgress(ping_);
  if (!st) {  // the backend forgot it (it cannot ping any more)
    ping_ = 0;
    return {"\n% Ping aborted\n", true, false};
  }
  Reply r{PingMarks(st->marks, ping_shown_), false, false, !st->done};
  ping_shown_ = st->marks.size();
  if (st->done) {
    backend_.StopPing(ping_);
    ping_ = 0;
    r.output += PingSummary(*st);
  }
  return r;
}

namespace {

std::optional<std::string> Ping(CommandContext& ctx) {
  PingRequest req;
  req.target = V4(ctx.args.Get("target"));
  req.repeat = static_cast<uint32_t>(ctx.args.Num("repeat", 5));
  req.size = static_cast<uint32_t>(ctx.args.Num("size", 100));
  if (ctx.args.Has("src_ip")) {
    req.source = V4(ctx.args.Get("src_ip"));
  } else if (ctx.args.Has("src_if")) {
    const std::string name = ctx.args.Get("src_if");
    const config::Interface* itf = nullptr;
    for (const config::Interface& i : ctx.backend->Running().interfaces) {
      if (i.name.size() == name.size() &&
          std::equal(i.name.begin(), i.name.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        itf = &i;
    }
    if (itf == nullptr || !itf->address || itf->shutdown)
      return "% Invalid source interface - " + name + " has no usable IP address";
    req.source = *itf->address;
  }
  auto h = ctx.backend->StartPing(req);
  if (!h) return h.error();
  const std::optional<PingStatus> st = ctx.backend->PingProgress(*h);
  if (!st) return std::string("% Ping aborted");
  if (st->repeat < req.repeat)
    ctx.out += "% Repeat count limited to " + std::to_string(st->repeat) + " by ikepulsed\n";
  ctx.out += PingHeader(req.target, *st, req.source.has_value());
  ctx.terminal->ping = *h;
  return std::nullopt;
}

enum Option : unsigned { kSource = 1, kRepeat = 2, kSize = 4, kAll = 7 };

// The option keywords allowed when `left` are still unused; shared among the orders that
// leave the same set (a DAG of 3 x 4 keyword nodes instead of every permutation).
const std::vector<Node*>& Options(Grammar& g, unsigned left, std::map<unsigned, std::vector<Node*>>& memo) {
  auto it = memo.find(left);
  if (it != memo.end()) return it->second;
  std::vector<Node*> nodes;
  auto args = [&](unsigned opt, std::vector<Node*> values) {
    for (Node* v : values) {
      v->handler = Ping;
      for (Node* next : Options(g, left & ~opt, memo)) Grammar::Link(v, next);
    }
  };
  if (left & kRepeat) {
    Node* kw = g.New(NodeKind::kKeyword);
    kw->text = kw->key = "repeat";
    kw->help = "specify repeat count";
    nodes.push_back(kw);
    args(kRepeat, {g.Num(kw, 1, 2147483647, "Repeat count", "repeat")});
  }
  if (left & kSize) {
    Node* kw = g.New(NodeKind::kKeyword);
    kw->text = kw->key = "size";
    kw->help = "specify datagram size";
    nodes.push_back(kw);
    args(kSize, {g.Num(kw, 36, 18024, "Datagram size", "size")});
  }
  if (left & kSource) {
    Node* kw = g.New(NodeKind::kKeyword);
    kw->text = kw->key = "source";
    kw->help = "specify source address or name";
    nodes.push_back(kw);
    args(kSource, {g.Ip(kw, "A.B.C.D", "Source address", "src_ip"),
                   g.Word(kw, "WORD", "Source interface name", "src_if")});
  }
  return memo[left] = std::move(nodes);
}

}  // namespace

void AddPingCommand(Grammar& g) {
  std::map<unsigned, std::vector<Node*>> memo;
  for (Mode m : {Mode::kUserExec, Mode::kPrivExec}) {
    Node* ping = g.Kw(g.root(m), "ping", "Send echo messages");
    Node* target = g.Ip(ping, "A.B.C.D", "Ping destination address", "target");
    target->handler = Ping;
    for (Node* n : Options(g, kAll, memo)) Grammar::Link(target, n);
  }
}

}  // namespace ikepulse::cli
