#include "daemon/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace ikepulse::daemon {

struct ControlServer::Connection {
  int fd = -1;
  std::unique_ptr<cli::Session> session;
  shell::FrameDecoder decoder{shell::kMaxRequestBody};
  std::string out;  // queued bytes; out[out_off..] not yet written
  size_t out_off = 0;
  size_t reply_bytes = 0;  // queued bytes owed to replies (exempt from max_backlog)
  bool closing = false;    // flush what is queued, then close
  bool dead = false;       // close at the end of the current entry point
  bool interest = false;   // last write interest reported
  bool running = false;    // a command runs on (Session::Continue); its REPLY is held
  bool eof = false;        // the client half-closed while a command was running

  size_t pending() const { return out.size() - out_off; }
};

class ControlServer::Guard {
 public:
  explicit Guard(ControlServer& s) : s_(s) { ++s_.depth_; }
  ~Guard() {
    if (--s_.depth_ != 0) return;
    s_.Reap();
    if (s_.poll_deferred_) {
      s_.poll_deferred_ = false;
      s_.Poll();
    }
  }

 private:
  ControlServer& s_;
};

namespace {

std::string Errno(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

bool FillAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// True when something accepts connections at `addr` (a live daemon).
bool SomeoneListens(const sockaddr_un& addr) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool live = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return live;
}

}  // namespace

Result<std::unique_ptr<ControlServer>, std::string> ControlServer::Create(Options options,
                                                                          SessionFactory factory,
                                                                          FdCallback on_fd) {
  const std::string& path = options.socket_path;
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) {
    return MakeUnexpected("control socket path is empty or too long: " + path);
  }
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return MakeUnexpected("refusing to replace " + path + ": not a socket");
    }
    if (SomeoneListens(addr)) {
      return MakeUnexpected("control socket " + path + " is in use by another process");
    }
    if (unlink(path.c_str()) != 0) return MakeUnexpected(Errno("cannot remove stale", path));
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeUnexpected(Errno("socket() for", path));
  // The socket file takes its mode from the umask: open no window wider than 0600.
  mode_t old_umask = umask(0177);
  int rc = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  umask(old_umask);
  if (rc != 0) {
    std::string err = Errno("cannot bind", path);
    close(fd);
    return MakeUnexpected(err);
  }
  auto fail = [&](const char* what) -> Result<std::unique_ptr<ControlServer>, std::string> {
    std::string err = Errno(what, path);
    close(fd);
    unlink(path.c_str());
    return MakeUnexpected(err);
  };
  if (options.group) {
    if (chown(path.c_str(), static_cast<uid_t>(-1), *options.group) != 0) {
      return fail("cannot chgrp");
    }
    if (chmod(path.c_str(), 0660) != 0) return fail("cannot chmod");
  } else if (chmod(path.c_str(), 0600) != 0) {
    return fail("cannot chmod");
  }
  if (listen(fd, 16) != 0) return fail("cannot listen on");
  return std::unique_ptr<ControlServer>(
      new ControlServer(std::move(options), std::move(factory), std::move(on_fd), fd));
}

ControlServer::ControlServer(Options options, SessionFactory factory, FdCallback on_fd,
                             int listen_fd)
    : options_(std::move(options)),
      factory_(std::move(factory)),
      on_fd_(std::move(on_fd)),
      listen_fd_(listen_fd) {}

ControlServer::~ControlServer() {
  for (auto& [fd, c] : connections_) {
    if (on_fd_) on_fd_(fd, false);
    close(fd);
  }
  connections_.clear();
  close(listen_fd_);
  // Remove the socket file, unless something that is not a socket took the path meanwhile.
  struct stat st;
  if (lstat(options_.socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(options_.socket_path.c_str());
  }
}

std::vector<int> ControlServer::fds() const {
  std::vector<int> out{listen_fd_};
  for (const auto& [fd, c] : connections_) {
    if (!c->dead) out.push_back(fd);
  }
  return out;
}

bool ControlServer::WantsWrite(int fd) const {
  auto it = connections_.find(fd);
  return it != connections_.end() && !it->second->dead && it->second->pending() > 0;
}

void ControlServer::OnReadable(int fd) {
  Guard guard(*this);
  if (fd == listen_fd_) {
    Accept();
    return;
  }
  auto it = connections_.find(fd);
  if (it == connections_.end() || it->second->dead) return;
  Read(*it->second);
}

void ControlServer::OnWritable(int fd) {
  Guard guard(*this);
  auto it = connections_.find(fd);
  if (it == connections_.end() || it->second->dead) return;
  Connection& c = *it->second;
  Flush(c);
  if (!c.dead && !c.closing) ProcessRequests(c);
  NoteInterest(c);
}

void ControlServer::Broadcast(std::string_view line) {
  Guard guard(*this);
  std::string frame;
  for (auto& [fd, c] : connections_) {
    if (c->dead || c->closing || !c->session || !c->session->monitor()) continue;
    if (frame.empty()) frame = shell::EncodeAsync(line);
    size_t backlog = c->pending() - std::min(c->pending(), c->reply_bytes);
    if (backlog + frame.size() > options_.max_backlog) {
      Drop(*c);  // it does not read: drop it rather than buffer without bound
      continue;
    }
    Queue(*c, frame);
    // Only try to write at the outermost level: inside a command the reply is still to come.
    if (depth_ == 1) Flush(*c);
    NoteInterest(*c);
  }
}

void ControlServer::Poll() {
  Guard guard(*this);
  if (depth_ > 1) {  // inside a command: do it when the outermost entry point returns
    poll_deferred_ = true;
    return;
  }
  for (auto& [fd, c] : connections_) {
    if (c->dead || !c->running) continue;
    if (c->session->streaming() && c->pending() >= kProcessWatermark) continue;
    Resume(*c);
    if (!c->dead) NoteInterest(*c);
  }
}

bool ControlServer::StepStreams() {
  Guard guard(*this);
  if (depth_ > 1) return true;  // not from inside a command
  bool more = false;
  for (auto& [fd, c] : connections_) {
    if (c->dead || !c->running || !c->session->streaming()) continue;
    if (c->pending() >= kProcessWatermark) continue;  // resumes once the client has read
    Resume(*c);
    if (c->dead) continue;
    NoteInterest(*c);
    more |= c->running && c->session->streaming() && c->pending() < kProcessWatermark;
  }
  return more;
}

size_t ControlServer::running_count() const {
  size_t n = 0;
  for (const auto& [fd, c] : connections_) n += (!c->dead && c->running) ? 1 : 0;
  return n;
}

void ControlServer::Continue(Connection& c) {
  cli::Session::Reply r = c.session->Continue();
  if (c.dead) return;
  if (r.pending) {
    QueuePartial(c, r.output);
    return;
  }
  c.running = false;
  shell::Reply reply;
  reply.output = std::move(r.output);
  reply.error = r.error;
  reply.close = r.close;
  QueueReply(c, std::move(reply));
}

void ControlServer::QueuePartial(Connection& c, std::string_view text) {
  if (text.empty()) return;
  Queue(c, shell::EncodePartial(text));
  c.reply_bytes = c.pending();  // owed to the reply under way, like the reply itself
}

void ControlServer::Resume(Connection& c) {
  Continue(c);
  if (c.dead) return;
  if (c.running) {
    Flush(c);
    return;
  }
  // Requests that arrived meanwhile wait in the decoder; then a half-close takes effect.
  if (!c.closing) ProcessRequests(c);
  if (c.dead || c.running) return;
  if (c.eof && !c.closing) {
    c.closing = true;
    if (c.pending() == 0) Drop(c);
  }
  if (!c.dead) Flush(c);
}

void ControlServer::Accept() {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE, ECONNABORTED): next time
    std::string why;
    if (!PeerAllowed(fd, &why) || connections_.size() >= options_.max_connections) {
      if (why.empty()) why = "% Too many control connections";
      shell::Reply reply;
      reply.output = why + "\n";
      reply.error = true;
      reply.close = true;
      std::string bytes = shell::EncodeReply(reply);
      // Best effort: a fresh socket buffer takes this short reply at once.
      (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->session = factory_ ? factory_() : nullptr;
    if (!c->session) {
      close(fd);
      continue;
    }
    c->session->set_streaming(true);
    connections_[fd] = std::move(c);
    if (on_fd_) on_fd_(fd, true);
  }
}

bool ControlServer::PeerAllowed(int fd, std::string* why) const {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    *why = "% Access denied: cannot read peer credentials";
    return false;
  }
  if (cred.uid == 0 || cred.uid == geteuid()) return true;
  if (options_.group) {
    if (cred.gid == *options_.group) return true;
    std::vector<gid_t> groups(64);
    for (;;) {
      socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
      if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
        groups.resize(glen / sizeof(gid_t));
        break;
      }
      if (errno != ERANGE || groups.size() >= 65536) {
        groups.clear();
        break;
      }
      groups.resize(std::max<size_t>(glen / sizeof(gid_t), groups.size() * 2));
    }
    if (std::find(groups.begin(), groups.end(), *options_.group) != groups.end()) return true;
  }
  *why = "% Access denied: uid " + std::to_string(cred.uid) + " may not use this daemon";
  return false;
}

void ControlServer::Read(Connection& c) {
  char buf[16384];
  bool eof = false;
  // Bounded per call so one chatty client cannot starve the loop; level triggering returns.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      if (!c.closing) c.decoder.Append(std::string_view(buf, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Drop(c);
    return;
  }
  if (!c.closing) ProcessRequests(c);
  if (c.dead) return;
  if (eof && c.running) {
    c.eof = true;  // the running command's REPLY is still owed
  } else if (eof) {
    // The client is done sending: answer what it asked, then close.
    c.closing = true;
    if (c.pending() == 0) Drop(c);
  }
  NoteInterest(c);
}

void ControlServer::ProcessRequests(Connection& c) {
  while (!c.dead && !c.closing && !c.running && c.pending() < kProcessWatermark) {
    auto next = c.decoder.NextRequest();
    if (!next) {
      Drop(c);  // malformed frame: this connection only
      return;
    }
    if (!next->has_value()) break;
    Execute(c, **next);
  }
  if (!c.dead && !c.closing && !c.running && c.decoder.buffered() > kMaxUnprocessed) Drop(c);
  if (!c.dead) Flush(c);
}

void ControlServer::Execute(Connection& c, const shell::Request& request) {
  cli::Session& session = *c.session;
  shell::Reply reply;
  switch (request.kind) {
    case shell::RequestKind::kExec: {
      auto r = session.Execute(request.line);
      if (r.pending) {
        c.running = true;
        QueuePartial(c, r.output);
        Continue(c);  // it may have finished already
        return;
      }
      reply.output = std::move(r.output);
      reply.error = r.error;
      reply.close = r.close;
      break;
    }
    case shell::RequestKind::kHelp:
      reply.output = session.Help(request.line);
      break;
    case shell::RequestKind::kComplete:
      for (const std::string& candidate : session.Complete(request.line)) {
        reply.output += candidate;
        reply.output += '\n';
      }
      break;
    case shell::RequestKind::kPrompt:
      break;
    case shell::RequestKind::kJson:
      if (options_.json) {
        JsonOutput json = options_.json(session, request.line);
        reply.output = std::move(json.text);
        reply.error = json.error;
      } else {
        reply.output = "% JSON output is not available\n";
        reply.error = true;
      }
      break;
  }
  if (c.dead) return;  // dropped by a Broadcast during the command
  QueueReply(c, std::move(reply));
}

void ControlServer::QueueReply(Connection& c, shell::Reply reply) {
  const cli::Session& session = *c.session;
  reply.prompt = session.Prompt();
  reply.monitor = session.monitor();
  int length = session.terminal_length();
  reply.terminal_length = length > 0 ? static_cast<uint32_t>(length) : 0;
  Queue(c, shell::EncodeReply(reply));
  c.reply_bytes = c.pending();  // everything queued so far is owed to this reply
  if (reply.close) c.closing = true;
}

void ControlServer::Queue(Connection& c, std::string_view bytes) {
  if (c.out_off > 0 && c.out_off >= c.out.size() / 2) {
    c.out.erase(0, c.out_off);
    c.out_off = 0;
  }
  c.out.append(bytes);
}

void ControlServer::Flush(Connection& c) {
  while (c.pending() > 0) {
    ssize_t n = send(c.fd, c.out.data() + c.out_off, c.pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      size_t written = static_cast<size_t>(n);
      c.out_off += written;
      c.reply_bytes -= std::min(c.reply_bytes, written);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Drop(c);
    return;
  }
  if (c.pending() == 0) {
    c.out.clear();
    c.out_off = 0;
    c.reply_bytes = 0;
    if (c.closing) Drop(c);
  }
}

void ControlServer::Drop(Connection& c) {
  c.dead = true;
  if (depth_ == 0) Reap();
}

void ControlServer::NoteInterest(Connection& c) {
  bool want = !c.dead && c.pending() > 0;
  if (want == c.interest) return;
  c.interest = want;
  if (options_.on_write_interest) options_.on_write_interest(c.fd, want);
}

void ControlServer::Reap() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!it->second->dead) {
      ++it;
      continue;
    }
    int fd = it->first;
    std::unique_ptr<Connection> c = std::move(it->second);
    it = connections_.erase(it);
    if (on_fd_) on_fd_(fd, false);
    close(fd);
  }
}

}  // namespace ikepulse::daemon
