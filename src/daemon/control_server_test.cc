#include "daemon/control_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/fake_backend.h"
#include "cli/session.h"
#include "cli/show.h"
#include "cli/shell/protocol.h"

namespace ikepulse::daemon {
namespace {

using shell::AsyncLine;
using shell::Reply;
using shell::Request;
using shell::RequestKind;
using shell::ServerMessage;
using std::chrono::steady_clock;

constexpr auto kDeadline = std::chrono::seconds(5);

std::string TempSocketPath() {
  char dir[] = "/tmp/ikepulse-control-XXXXXX";
  char* made = mkdtemp(dir);
  EXPECT_NE(made, nullptr);
  return std::string(made) + "/ctl.sock";
}

int ConnectTo(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// A test client: non-blocking socket, decoder, and what it has received.
struct Client {
  int fd = -1;
  shell::FrameDecoder decoder{shell::kMaxReplyBody};
  std::vector<Reply> replies;
  std::vector<std::string> async;
  std::string partial;  // PART output, in order
  bool eof = false;
  bool protocol_error = false;

  ~Client() {
    if (fd >= 0) close(fd);
  }
  void Send(std::string_view bytes) {
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void Receive() {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n > 0) {
        decoder.Append(std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) eof = true;
      break;
    }
    for (;;) {
      auto m = decoder.NextServerMessage();
      if (!m) {
        protocol_error = true;
        return;
      }
      if (!m->has_value()) return;
      if (auto* r = std::get_if<Reply>(&**m)) {
        replies.push_back(std::move(*r));
      } else if (auto* p = std::get_if<shell::PartialOutput>(&**m)) {
        partial += p->text;
      } else {
        async.push_back(std::get<AsyncLine>(**m).text);
      }
    }
  }
};

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = TempSocketPath(); }
  void TearDown() override {
    clients_.clear();
    server_.reset();
    rmdir(path_.substr(0, path_.rfind('/')).c_str());
  }

  void Start(ControlServer::Options options = {}) {
    options.socket_path = path_;
    options.on_write_interest = [this](int fd, bool want) {
      if (want) {
        write_interest_.insert(fd);
      } else {
        write_interest_.erase(fd);
      }
    };
    auto created = ControlServer::Create(
        std::move(options), [this] { return std::make_unique<cli::Session>(backend_); },
        [this](int fd, bool add) { fd_events_.push_back(add ? fd : -fd); });
    ASSERT_TRUE(created) << created.error();
    server_ = std::move(*created);
  }

  Client& Connect() {
    auto c = std::make_unique<Client>();
    c->fd = ConnectTo(path_);
    EXPECT_GE(c->fd, 0);
    clients_.push_back(std::move(c));
    return *clients_.back();
  }

  // One poll() round over the server's fds and the clients' fds.
  void PollOnce(int timeout_ms) {
    std::vector<pollfd> pfds;
    for (int fd : server_->fds()) {
      short events = POLLIN;
      if (server_->WantsWrite(fd)) {
        events |= POLLOUT;
        EXPECT_TRUE(fd == server_->listen_fd() || write_interest_.count(fd) == 1);
      }
      pfds.push_back({fd, events, 0});
    }
    size_t server_count = pfds.size();
    for (auto& c : clients_) {
      if (!c->eof) pfds.push_back({c->fd, POLLIN, 0});
    }
    // As the daemon's loop: streamed shows render while there is work, without waiting.
    const bool busy = server_->StepStreams();
    ASSERT_GE(poll(pfds.data(), pfds.size(), busy ? 0 : timeout_ms), 0);
    for (size_t i = 0; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) continue;
      if (i < server_count) {
        if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) server_->OnReadable(pfds[i].fd);
        if (pfds[i].revents & POLLOUT) server_->OnWritable(pfds[i].fd);
      } else {
        for (auto& c : clients_) {
          if (c->fd == pfds[i].fd) c->Receive();
        }
      }
    }
  }

  // Runs the loop until `done` holds or the deadline passes.
  bool RunUntil(const std::function<bool()>& done) {
    auto deadline = steady_clock::now() + kDeadline;
    while (!done()) {
      if (steady_clock::now() > deadline) return false;
      PollOnce(50);
    }
    return true;
  }

  Reply Ask(Client& c, RequestKind kind, std::string line) {
    size_t before = c.replies.size();
    c.Send(shell::EncodeRequest(Request{kind, std::move(line)}));
    EXPECT_TRUE(RunUntil([&] { return c.replies.size() > before || c.eof; }));
    if (c.replies.size() <= before) return Reply{"<no reply>", "", true, true, false, 0};
    return c.replies.back();
  }
  Reply Exec(Client& c, std::string line) { return Ask(c, RequestKind::kExec, std::move(line)); }

  std::string path_;
  cli::FakeBackend backend_;
  std::unique_ptr<ControlServer> server_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<int> fd_events_;
  std::set<int> write_interest_;
};

TEST_F(ControlServerTest, SocketIsCreatedOwnerOnly) {
  Start();
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
  server_.reset();
  EXPECT_NE(lstat(path_.c_str(), &st), 0) << "socket file left behind";
}

TEST_F(ControlServerTest, GroupSocketIsMode0660) {
  ControlServer::Options options;
  options.group = getegid();
  Start(options);
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, getegid());
}

TEST_F(ControlServerTest, StaleSocketIsReplacedLiveOneAndFilesAreNot) {
  {
    // A stale socket: bound, then its owner went away.
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);
  }
  Start();
  ControlServer::Options again;
  again.socket_path = path_;
  auto second = ControlServer::Create(
      again, [this] { return std::make_unique<cli::Session>(backend_); }, nullptr);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("in use"), std::string::npos) << second.error();
  server_.reset();

  ASSERT_EQ(close(open(path_.c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  auto over_file = ControlServer::Create(again, nullptr, nullptr);
  ASSERT_FALSE(over_file);
  EXPECT_NE(over_file.error().find("not a socket"), std::string::npos);
  unlink(path_.c_str());
}

TEST_F(ControlServerTest, EnableConfigureAndShowRunningConfig) {
  Start();
  Client& c = Connect();
  Reply prompt = Ask(c, RequestKind::kPrompt, "");
  EXPECT_EQ(prompt.prompt, "Router>");
  EXPECT_FALSE(prompt.error);

  Reply r = Exec(c, "enable");
  EXPECT_FALSE(r.error) << r.output;
  EXPECT_EQ(r.prompt, "Router#");
  EXPECT_EQ(Exec(c, "conf t").prompt, "Router(config)#");
  r = Exec(c, "crypto isakmp keepalive 10 periodic");
  EXPECT_FALSE(r.error) << r.output;
  r = Exec(c, "crypto isakmp keepalive");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(Exec(c, "crypto isakmp policy 1").prompt, "Router(config-isakmp)#");
  EXPECT_EQ(Exec(c, "end").prompt, "Router#");
  r = Exec(c, "show running-config");
  EXPECT_FALSE(r.error);
  EXPECT_NE(r.output.find("crypto isakmp keepalive 10 periodic"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("crypto isakmp policy 1"), std::string::npos) << r.output;
  EXPECT_EQ(r.terminal_length, 24u);
  EXPECT_EQ(Exec(c, "terminal length 0").terminal_length, 0u);
}

TEST_F(ControlServerTest, HelpAndCompletion) {
  Start();
  Client& c = Connect();
  Exec(c, "enable");
  Reply help = Ask(c, RequestKind::kHelp, "show ");
  EXPECT_FALSE(help.error);
  EXPECT_NE(help.output.find("running-config"), std::string::npos) << help.output;
  EXPECT_EQ(help.prompt, "Router#");
  Reply complete = Ask(c, RequestKind::kComplete, "sh");
  EXPECT_EQ(complete.output, "show\n");
}

TEST_F(ControlServerTest, BroadcastReachesMonitorSessionsOnly) {
  Start();
  Client& watcher = Connect();
  Client& other = Connect();
  Exec(watcher, "enable");
  Reply r = Exec(watcher, "terminal monitor");
  EXPECT_FALSE(r.error) << r.output;
  EXPECT_TRUE(r.monitor);
  Exec(other, "enable");
  server_->Broadcast("ISAKMP: DPD/R_U_THERE_ACK received from peer 10.2.80.209, sequence 0x9");
  ASSERT_TRUE(RunUntil([&] { return !watcher.async.empty(); }));
  EXPECT_EQ(watcher.async[0],
            "ISAKMP: DPD/R_U_THERE_ACK received from peer 10.2.80.209, sequence 0x9");
  // A request/reply round trip on `other` after the broadcast proves nothing was queued for it.
  Exec(other, "show clock");
  EXPECT_TRUE(other.async.empty());
  Exec(watcher, "terminal no monitor");
  server_->Broadcast("second");
  Exec(watcher, "show clock");
  EXPECT_EQ(watcher.async.size(), 1u);
}

TEST_F(ControlServerTest, GarbageFrameClosesOnlyThatConnection) {
  Start();
  Client& good = Connect();
  Client& bad = Connect();
  ASSERT_TRUE(RunUntil([&] { return server_->connection_count() == 2; }));
  bad.Send("HELLO\x01\x02 world\n");
  ASSERT_TRUE(RunUntil([&] { return bad.eof; }));
  EXPECT_TRUE(bad.replies.empty());
  EXPECT_EQ(server_->connection_count(), 1u);
  EXPECT_EQ(Exec(good, "enable").prompt, "Router#");
  // The fd callback saw both connections appear and the bad one go.
  ASSERT_EQ(fd_events_.size(), 3u);
  EXPECT_GT(fd_events_[0], 0);
  EXPECT_GT(fd_events_[1], 0);
  EXPECT_LT(fd_events_[2], 0);
}

TEST_F(ControlServerTest, PipelinedRequestsAnsweredInOrder) {
  Start();
  Client& c = Connect();
  std::string batch = shell::EncodeRequest({RequestKind::kExec, "enable"}) +
                      shell::EncodeRequest({RequestKind::kExec, "configure terminal"}) +
                      shell::EncodeRequest({RequestKind::kPrompt, ""});
  c.Send(batch);
  ASSERT_TRUE(RunUntil([&] { return c.replies.size() == 3; }));
  EXPECT_EQ(c.replies[0].prompt, "Router#");
  EXPECT_EQ(c.replies[2].prompt, "Router(config)#");
}

TEST_F(ControlServerTest, ExitClosesTheSession) {
  Start();
  Client& c = Connect();
  Reply r = Exec(c, "exit");
  EXPECT_TRUE(r.close);
  ASSERT_TRUE(RunUntil([&] { return c.eof; }));
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(ControlServerTest, ClientHalfCloseStillGetsItsReply) {
  Start();
  Client& c = Connect();
  c.Send(shell::EncodeRequest({RequestKind::kExec, "enable"}));
  shutdown(c.fd, SHUT_WR);
  ASSERT_TRUE(RunUntil([&] { return c.eof; }));
  ASSERT_EQ(c.replies.size(), 1u);
  EXPECT_EQ(c.replies[0].prompt, "Router#");
}

TEST_F(ControlServerTest, JsonRequests) {
  Start();
  Client& c = Connect();
  EXPECT_TRUE(Ask(c, RequestKind::kJson, "show crypto isakmp sa").error);
  server_.reset();
  clients_.clear();

  ControlServer::Options options;
  options.json = [](cli::Session&, std::string_view line) {
    return ControlServer::JsonOutput{"{\"line\":\"" + std::string(line) + "\"}\n", false};
  };
  Start(options);
  Client& d = Connect();
  Reply r = Ask(d, RequestKind::kJson, "show crypto isakmp sa");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.output, "{\"line\":\"show crypto isakmp sa\"}\n");
}

TEST_F(ControlServerTest, ClientThatDoesNotReadIsDropped) {
  ControlServer::Options options;
  options.max_backlog = 64 * 1024;
  Start(options);
  Client& c = Connect();
  Exec(c, "enable");
  Exec(c, "terminal monitor");
  // The client stops reading; broadcast until the kernel buffer and the backlog are full.
  std::string line(8192, 'x');
  for (int i = 0; i < 10000 && server_->connection_count() == 1; ++i) server_->Broadcast(line);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(ControlServerTest, ConnectionLimit) {
  ControlServer::Options options;
  options.max_connections = 1;
  Start(options);
  Client& first = Connect();
  ASSERT_TRUE(RunUntil([&] { return server_->connection_count() == 1; }));
  Client& second = Connect();
  ASSERT_TRUE(RunUntil([&] { return second.eof; }));
  ASSERT_EQ(second.replies.size(), 1u);
  EXPECT_TRUE(second.replies[0].error);
  EXPECT_TRUE(second.replies[0].close);
  EXPECT_EQ(Exec(first, "enable").prompt, "Router#");
}

}  // namespace
}  // namespace ikepulse::daemon

namespace ikepulse::daemon {
namespace {

// A `ping` runs on: its REPLY (with all of its output) waits until the backend reports the
// ping finished and the host polls; requests behind it wait too, then are answered in order.
TEST_F(ControlServerTest, RunningCommandHoldsItsReply) {
  Start();
  Client& c = Connect();
  c.Send(shell::EncodeRequest({RequestKind::kExec, "enable"}) +
         shell::EncodeRequest({RequestKind::kExec, "ping 203.0.113.10 repeat 2"}) +
         shell::EncodeRequest({RequestKind::kPrompt, ""}));
  const std::string header =
      "Type escape sequence to abort.\n"
      "Sending 2, 100-byte ICMP Echos to 203.0.113.10, timeout is 2 seconds:\n";
  // The header at once, in a PART frame.
  ASSERT_TRUE(RunUntil([&] { return c.partial == header; }));
  EXPECT_EQ(c.replies.size(), 1u);
  EXPECT_EQ(server_->running_count(), 1u);
  for (int i = 0; i < 5; ++i) PollOnce(10);
  server_->Poll();  // no progress: still running
  PollOnce(10);
  EXPECT_EQ(c.replies.size(), 1u);
  cli::PingStatus& st = backend_.pings_running.at(1);
  st.marks = "!";
  st.rtt_ms = {1};
  server_->Poll();
  ASSERT_TRUE(RunUntil([&] { return c.partial == header + "!"; }));  // streamed
  EXPECT_EQ(c.replies.size(), 1u);
  st.marks = "!!";
  st.rtt_ms = {1, 3};
  st.done = true;
  server_->Poll();
  ASSERT_TRUE(RunUntil([&] { return c.replies.size() == 3; }));
  EXPECT_EQ(c.partial, header + "!");
  EXPECT_EQ(c.replies[1].output,
            "!\nSuccess rate is 100 percent (2/2), round-trip min/avg/max = 1/2/3 ms\n");
  EXPECT_FALSE(c.replies[1].error);
  EXPECT_EQ(c.replies[1].prompt, "Router#");
  EXPECT_EQ(c.replies[2].prompt, "Router#");
  EXPECT_EQ(server_->running_count(), 0u);
  EXPECT_EQ(backend_.pings_stopped, std::vector<uint64_t>{1});
}

TEST_F(ControlServerTest, HalfCloseDuringARunningCommandStillGetsTheReply) {
  Start();
  Client& c = Connect();
  c.Send(shell::EncodeRequest({RequestKind::kExec, "enable"}) +
         shell::EncodeRequest({RequestKind::kExec, "ping 203.0.113.10 repeat 1"}));
  shutdown(c.fd, SHUT_WR);
  ASSERT_TRUE(RunUntil([&] { return c.replies.size() == 1 && server_->running_count() == 1; }));
  for (int i = 0; i < 5; ++i) PollOnce(10);
  EXPECT_FALSE(c.eof);
  EXPECT_EQ(server_->connection_count(), 1u);
  backend_.pings_running.at(1).marks = ".";
  backend_.pings_running.at(1).done = true;
  server_->Poll();
  ASSERT_TRUE(RunUntil([&] { return c.eof; }));
  ASSERT_EQ(c.replies.size(), 2u);
  EXPECT_NE(c.replies[1].output.find("Success rate is 0 percent (0/1)\n"), std::string::npos);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(ControlServerTest, ClientGoneAbandonsTheRunningCommand) {
  Start();
  Client& c = Connect();
  c.Send(shell::EncodeRequest({RequestKind::kExec, "enable"}) +
         shell::EncodeRequest({RequestKind::kExec, "ping 203.0.113.10"}));
  ASSERT_TRUE(RunUntil([&] { return server_->running_count() == 1; }));
  close(c.fd);
  c.fd = -1;
  c.eof = true;
  ASSERT_TRUE(RunUntil([&] { return server_->connection_count() == 0; }));
  EXPECT_EQ(backend_.pings_stopped, std::vector<uint64_t>{1});
  EXPECT_TRUE(backend_.pings_running.empty());
  server_->Poll();  // nothing left to poll
}

TEST_F(ControlServerTest, AStreamedShowComesAPageAtATimeAndWhole) {
  for (uint32_t i = 1; i <= 3000; ++i) {
    cli::IsakmpSaInfo sa;
    sa.dst = IpAddress::V4FromU32(0x0A000000u + i);
    sa.src = IpAddress::V4FromU32(0xC0000201u);
    sa.state = "QM_IDLE";
    sa.conn_id = 1000 + i;
    backend_.isakmp_sas.push_back(sa);
  }
  const std::string whole = cli::FormatIsakmpSas(backend_.isakmp_sas, true);
  ASSERT_GT(whole.size(), 4 * ControlServer::kProcessWatermark);
  Start();
  Client& c = Connect();
  Exec(c, "enable");
  c.Send(shell::EncodeRequest({RequestKind::kExec, "show crypto isakmp sa detail"}));
  // The client does not read: the server renders pages until about kProcessWatermark is
  // queued (plus what the socket buffer took), then waits instead of queueing the rest.
  for (int i = 0; i < 50; ++i) {
    for (int fd : server_->fds())
      if (fd != server_->listen_fd()) server_->OnReadable(fd);
    server_->StepStreams();
  }
  bool stalled = false;
  for (int i = 0; i < 200 && !stalled; ++i) stalled = !server_->StepStreams();
  EXPECT_TRUE(stalled);
  EXPECT_EQ(server_->running_count(), 1u);
  EXPECT_EQ(c.replies.size(), 1u);  // `enable` only
  // Reading, it gets everything, in order, the REPLY last.
  ASSERT_TRUE(RunUntil([&] { return c.replies.size() == 2; }));
  EXPECT_EQ(c.partial + c.replies[1].output, whole);
  EXPECT_FALSE(c.replies[1].error);
  EXPECT_EQ(server_->running_count(), 0u);
  EXPECT_FALSE(server_->StepStreams());
}

}  // namespace
}  // namespace ikepulse::daemon
