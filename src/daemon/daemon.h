// Daemon: ikepulsed = one ike::Node + UDP sockets (500/4500, IPv4/IPv6) + an epoll/timerfd/
// signalfd EventLoop + the real clock + the Logger + (when built) the control server.
//
// Contract
// - After every Node call the Outbox is flushed (datagrams sent on the socket bound to their
//   local endpoint, events logged per the Logger's rules) and the loop's timer is re-armed
//   with Node::NextDeadline().
// - Listening: the addresses given with --listen, else the `ip address` of every configured
//   interface, else the wildcard addresses (0.0.0.0 and ::), each on the IKE and NAT-T ports.
//   The set is reconciled whenever a configuration is applied.
// - Signals: SIGTERM/SIGINT clear every SA (Delete notifications go out) and stop the loop;
//   SIGHUP re-reads the startup-config (a parse error is logged and changes nothing) and
//   re-opens the log file.
// - Single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/result.h"
#include "config/config.h"

namespace ikepulse::daemon {

inline constexpr char kDefaultSocketPath[] = "/run/ikepulse/ikepulse.sock";

struct DaemonOptions {
  std::string config_path;              // -f (required)
  std::string log_file;                 // --log
  std::string socket_path = kDefaultSocketPath;  // --socket ("" or "none" = no control socket)
  bool foreground = false;              // --foreground
  bool debug = false;                   // --debug: start with `debug crypto isakmp` on
  uint16_t ike_port = 500;              // --ike-port (tests)
  uint16_t natt_port = 4500;            // --natt-port (tests)
  std::vector<IpAddress> listen;        // --listen ADDR (repeatable)
  std::string tun_name = "ikp0";        // --tun NAME: the userspace ESP data plane's TUN device
  bool dataplane = true;                // --no-dataplane: IKE only
};

// Parses startup-config text (cli::ParseConfigText when the CLI library is built).
// The error reads "line L, column C: <IOS message>".
Result<config::Config, std::string> ParseStartupConfig(const std::string& text);

// Parses argv; an error text for a bad command line ("usage: ..." on --help).
Result<DaemonOptions, std::string> ParseArgs(int argc, char** argv);
std::string Usage();

class DaemonImpl;

class Daemon {
 public:
  // Reads and applies the startup-config, binds the sockets and the control socket.
  static Result<std::unique_ptr<Daemon>, std::string> Create(DaemonOptions opts,
                                                             config::Config initial);
  ~Daemon();
  // Runs until SIGTERM/SIGINT. Returns the process exit code.
  int Run();

 private:
  explicit Daemon(std::unique_ptr<DaemonImpl> impl);
  std::unique_ptr<DaemonImpl> impl_;
};

}  // namespace ikepulse::daemon
