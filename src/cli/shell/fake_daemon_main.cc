// ikepulse_fake_daemon: a ControlServer over a cli::FakeBackend in a poll() loop, for the
// shell's terminal tests (shell_pty_test.py). Not installed.
//
//   ikepulse_fake_daemon SOCKET [--tick-ms N]
//   ikepulse_fake_daemon SOCKET --engine CONFIG_FILE
// With --engine, the backend is the daemon's (BackendImpl over a real ike::Node, clock
// stopped) with CONFIG_FILE applied; the Node's datagrams are dropped, so an `ikepulse keep-up`
// entry stays in Main Mode (for the show commands' state before any SA). Prints "ready" on stdout
// once listening. With --tick-ms, broadcasts
// "%IKEPULSE-6-TICK: tick <n>" every N ms (to sessions with `terminal monitor`). Exits on
// SIGTERM or SIGINT, removing the socket.
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/fake_backend.h"
#include "cli/session.h"
#include "common/random.h"
#include "daemon/backend_impl.h"
#include "daemon/control_server.h"
#include "ike/node.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  using ikepulse::daemon::ControlServer;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SOCKET [--tick-ms N]\n", argv[0]);
    return 2;
  }
  int tick_ms = 0;
  if (argc == 4 && std::strcmp(argv[2], "--tick-ms") == 0) tick_ms = std::atoi(argv[3]);
  const char* engine_config =
      argc == 4 && std::strcmp(argv[2], "--engine") == 0 ? argv[3] : nullptr;
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  ikepulse::cli::FakeBackend fake;
  ikepulse::cli::Backend* chosen = &fake;
  ikepulse::SeededRandom rng(1);
  ikepulse::ike::Node node(rng);
  const ikepulse::TimePoint now = ikepulse::FromMicros(5'000'000'000);
  ikepulse::daemon::BackendImpl engine(
      node, ikepulse::daemon::BackendImpl::Context{[now] { return now; },
                                                   [](ikepulse::ike::Outbox& out) { out.Clear(); },
                                                   nullptr, "", now, nullptr, {}});
  if (engine_config != nullptr) {
    std::ifstream in(engine_config);
    std::stringstream text;
    text << in.rdbuf();
    auto config = ikepulse::cli::ParseConfigText(text.str());
    if (!config) {
      std::fprintf(stderr, "ikepulse_fake_daemon: %s: line %d: %s\n", engine_config,
                   config.error().line, config.error().message.c_str());
      return 1;
    }
    if (auto refused = engine.ApplyConfig(*config)) {
      std::fprintf(stderr, "ikepulse_fake_daemon: %s\n", refused->c_str());
      return 1;
    }
    chosen = &engine;
  }
  ikepulse::cli::Backend& backend = *chosen;
  ControlServer::Options options;
  options.socket_path = argv[1];
  // The daemon's wiring: cli::ShowJson answers, {"error": ...} marks a failure.
  options.json = [&backend](ikepulse::cli::Session&, std::string_view line) {
    ControlServer::JsonOutput out{ikepulse::cli::ShowJson(backend, line), false};
    out.error = out.text.rfind("{\"error\"", 0) == 0;
    if (out.text.empty() || out.text.back() != '\n') out.text += '\n';
    return out;
  };
  auto server = ControlServer::Create(
      options, [&backend] { return std::make_unique<ikepulse::cli::Session>(backend); }, nullptr);
  if (!server) {
    std::fprintf(stderr, "ikepulse_fake_daemon: %s\n", server.error().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  using Clock = std::chrono::steady_clock;
  auto next_tick = Clock::now() + std::chrono::milliseconds(tick_ms);
  int ticks = 0;
  while (!g_stop) {
    std::vector<pollfd> pfds;
    for (int fd : (*server)->fds()) {
      pfds.push_back(
          {fd, static_cast<short>(POLLIN | ((*server)->WantsWrite(fd) ? POLLOUT : 0)), 0});
    }
    int timeout = 200;
    if (tick_ms > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(timeout, left.count())));
    }
    if (poll(pfds.data(), pfds.size(), timeout) < 0 && errno != EINTR) return 1;
    for (const pollfd& p : pfds) {
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) (*server)->OnReadable(p.fd);
      if (p.revents & POLLOUT) (*server)->OnWritable(p.fd);
    }
    if (tick_ms > 0 && Clock::now() >= next_tick) {
      (*server)->Broadcast("%IKEPULSE-6-TICK: tick " + std::to_string(++ticks));
      next_tick += std::chrono::milliseconds(tick_ms);
    }
  }
  return 0;
}
