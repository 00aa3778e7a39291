// ikepulsed: the IKEv1 keying daemon. See daemon.h for what it is made of.
//
//   ikepulsed -f <startup-config> [--log <file>] [--socket <control-socket>] [--foreground]
//             [--debug]
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string_view>
#include <cstdlib>
#include <string>

#include "daemon/atomic_file.h"
#include "daemon/daemon.h"

namespace {

std::string Absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

// Classic daemonization: fork, new session, stdio to /dev/null, cwd /.
bool Daemonize() {
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid > 0) _exit(0);
  if (setsid() < 0) return false;
  if (chdir("/") != 0) return false;
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ikepulse::daemon;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--version") {
      std::printf("ikepulsed %s\n", IKEPULSE_VERSION);
      return 0;
    }
  }
  auto opts = ParseArgs(argc, argv);
  if (!opts.has_value()) {
    std::fputs(opts.error().c_str(), stderr);
    if (opts.error().back() != '\n') std::fputc('\n', stderr);
    return 2;
  }
  DaemonOptions o = std::move(opts).value();
  o.config_path = Absolute(o.config_path);
  o.log_file = Absolute(o.log_file);
  if (o.socket_path != "none") o.socket_path = Absolute(o.socket_path);

  // A missing startup-config is an empty one (`write memory` creates it); a bad one is fatal.
  const std::string text = ReadWholeFile(o.config_path).value_or("");
  auto cfg = ParseStartupConfig(text);
  if (!cfg.has_value()) {
    std::fprintf(stderr, "ikepulsed: %s: %s\n", o.config_path.c_str(), cfg.error().c_str());
    return 1;
  }
  if (!o.foreground && !Daemonize()) {
    std::perror("ikepulsed: daemonize");
    return 1;
  }
  auto daemon = Daemon::Create(o, std::move(cfg).value());
  if (!daemon.has_value()) {
    std::fprintf(stderr, "ikepulsed: %s\n", daemon.error().c_str());
    return 1;
  }
  return daemon.value()->Run();
}
