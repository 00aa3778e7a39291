// ControlServer: the daemon end of the `ikepulse` shell's control socket (a Unix stream
// socket, protocol in cli/shell/protocol.h). One cli::Session per connection.
//
// Contract
// - Create() binds and listens on `socket_path`. The socket is created mode 0600 (owner only),
//   or 0660 and chgrp'ed to `group` when one is configured. A stale socket file (nobody
//   listening) is replaced; a live one (another daemon answers) or a non-socket file at the path
//   is an error. The destructor closes every fd and unlinks the socket file.
// - Peers are checked with SO_PEERCRED: root, the daemon's own uid, and (with a group) members
//   of that group (primary gid or, via SO_PEERGROUPS, a supplementary group) are accepted;
//   anyone else gets one error REPLY ("% Access denied") and is closed.
// - Every fd is non-blocking. The server never blocks and owns no loop: the host (the daemon's
//   epoll loop, or a test's poll loop) watches listen_fd() and every connection fd for input,
//   and a connection fd for output while WantsWrite(fd), and calls OnReadable / OnWritable.
//   `on_fd(fd, true)` is called when a connection fd appears and `on_fd(fd, false)` just before
//   it is closed, so the host can EPOLL_CTL_ADD / _DEL. `on_write_interest(fd, want)` (optional)
//   is called whenever WantsWrite(fd) changes, so the host can EPOLL_CTL_MOD. Use level
//   triggering.
// - Requests are executed in order, one REPLY each. A connection whose queued output exceeds
//   kProcessWatermark stops executing requests until it drains (they wait in its decoder); one
//   that then keeps sending more than kMaxUnprocessed bytes of requests, or lets more than
//   `max_backlog` bytes of asynchronous lines pile up behind its replies, is dropped. A
//   malformed frame closes that connection only.
// - A command that runs on (`ping`: Session::Reply::pending) holds its REPLY, and the
//   connection executes nothing else, until Session::Continue() says it has finished; the
//   host calls Poll() when a running command may have progressed (Poll from inside a
//   command is deferred to the end of the outermost entry point). Its output goes out in
//   PART frames as it comes, the rest in the REPLY. A client that half-closes meanwhile still gets it; one that goes
//   away abandons the command (its Session is destroyed).
// - A streamed show (Session::streaming(): sessions here have streaming on) is a running
//   command that has work to do rather than something to wait for: StepStreams() renders a
//   page of each per call.
// - Broadcast(line) queues an ASYNC frame for every session with monitor() on.
// - Single-threaded. Re-entrancy: a Broadcast from inside a session's command (e.g. a debug
//   line emitted by the backend while executing) is safe; connections dropped meanwhile are
//   closed when the outermost call returns.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/session.h"
#include "cli/shell/protocol.h"
#include "common/result.h"

namespace ikepulse::daemon {

inline constexpr char kDefaultControlSocket[] = "/run/ikepulse/ikepulse.sock";

class ControlServer {
 public:
  using SessionFactory = std::function<std::unique_ptr<cli::Session>()>;
  using FdCallback = std::function<void(int fd, bool add)>;
  using WriteInterestCallback = std::function<void(int fd, bool want_write)>;
  // Answers a JSON request (`ikepulse --json`) for one show command line.
  struct JsonOutput {
    std::string text;
    bool error = false;
  };
  using JsonHandler = std::function<JsonOutput(cli::Session& session, std::string_view line)>;

  static constexpr size_t kProcessWatermark = 64 * 1024;
  static constexpr size_t kMaxUnprocessed = 2 * shell::kMaxRequestBody + shell::kMaxHeader;

  struct Options {
    std::string socket_path = kDefaultControlSocket;
    std::optional<gid_t> group;        // 0660 + this group; nullopt = 0600
    size_t max_backlog = 1024 * 1024;  // async bytes queued behind replies before a drop
    size_t max_connections = 64;
    JsonHandler json;                         // empty = JSON requests answer an error
    WriteInterestCallback on_write_interest;  // optional
  };

  static Result<std::unique_ptr<ControlServer>, std::string> Create(Options options,
                                                                    SessionFactory factory,
                                                                    FdCallback on_fd);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int listen_fd() const { return listen_fd_; }
  // listen_fd() and every open connection fd.
  std::vector<int> fds() const;
  void OnReadable(int fd);
  void OnWritable(int fd);
  bool WantsWrite(int fd) const;
  void Broadcast(std::string_view line);
  // Lets every running command report progress and finish (see above).
  void Poll();
  // Streamed shows: renders the next page of every running show whose connection has less
  // than kProcessWatermark of output queued (the others wait until their client reads). True
  // while one has a page to render now: the host calls it again on its next turn without
  // blocking (EventLoop::SetIdleWork), so a show over 100,000 SAs goes out a page per turn,
  // between packets and timers.
  bool StepStreams();
  // Connections whose command runs on.
  size_t running_count() const;

  size_t connection_count() const { return connections_.size(); }
  const std::string& socket_path() const { return options_.socket_path; }

 private:
  struct Connection;
  ControlServer(Options options, SessionFactory factory, FdCallback on_fd, int listen_fd);

  void Accept();
  bool PeerAllowed(int fd, std::string* why) const;
  void Read(Connection& c);
  void ProcessRequests(Connection& c);
  void Execute(Connection& c, const shell::Request& request);
  // Continues c's running command; queues its REPLY once it has finished.
  void Continue(Connection& c);
  // Continue, then (finished) the requests that waited and a pending half-close.
  void Resume(Connection& c);
  void QueueReply(Connection& c, shell::Reply reply);
  void QueuePartial(Connection& c, std::string_view text);
  void Queue(Connection& c, std::string_view bytes);
  void Flush(Connection& c);
  void Drop(Connection& c);
  void NoteInterest(Connection& c);
  void Reap();

  // Runs at every public entry point; closes dropped connections when the outermost returns.
  class Guard;

  Options options_;
  SessionFactory factory_;
  FdCallback on_fd_;
  int listen_fd_;
  int depth_ = 0;
  bool poll_deferred_ = false;
  std::map<int, std::unique_ptr<Connection>> connections_;
};

}  // namespace ikepulse::daemon
