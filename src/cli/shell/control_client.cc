#include "cli/shell/control_client.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace ikepulse::shell {

Result<ControlClient, std::string> ControlClient::Connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return MakeUnexpected("socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeUnexpected(std::string("socket: ") + std::strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::string err = "cannot connect to " + path + ": " + std::strerror(errno);
    if (errno == ENOENT || errno == ECONNREFUSED) err += " (is ikepulsed running?)";
    close(fd);
    return MakeUnexpected(err);
  }
  return ControlClient(fd);
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(other.fd_), decoder_(std::move(other.decoder_)), on_async_(std::move(other.on_async_)) {
  other.fd_ = -1;
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) close(fd_);
}

bool ControlClient::ReadSome(bool block) {
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof(buf), block ? 0 : MSG_DONTWAIT);
    if (n > 0) {
      decoder_.Append(std::string_view(buf, static_cast<size_t>(n)));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && !block && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

Result<Reply, std::string> ControlClient::Call(RequestKind kind, std::string_view line) {
  std::string bytes = EncodeRequest(Request{kind, std::string(line)});
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeUnexpected(std::string("connection to ikepulsed lost"));
    sent += static_cast<size_t>(n);
  }
  std::string partial;  // PART output kept for the reply (no partial handler)
  for (;;) {
    auto next = decoder_.NextServerMessage();
    if (!next) return MakeUnexpected(std::string("protocol error: ") + next.error().detail);
    if (next->has_value()) {
      ServerMessage& m = **next;
      if (auto* reply = std::get_if<Reply>(&m)) {
        if (!partial.empty()) reply->output.insert(0, partial);
        return std::move(*reply);
      }
      if (auto* part = std::get_if<PartialOutput>(&m)) {
        if (on_partial_) {
          on_partial_(part->text);
        } else if (partial.size() + part->text.size() <= kMaxReplyBody) {
          partial += part->text;
        }
        continue;
      }
      if (on_async_) on_async_(std::get<AsyncLine>(m).text);
      continue;
    }
    if (!ReadSome(/*block=*/true)) {
      return MakeUnexpected(std::string("connection to ikepulsed closed"));
    }
  }
}

bool ControlClient::Pump() {
  bool alive = ReadSome(/*block=*/false);
  for (;;) {
    auto next = decoder_.NextServerMessage();
    if (!next) return false;
    if (!next->has_value()) break;
    ServerMessage& m = **next;
    if (!std::holds_alternative<AsyncLine>(m)) return false;  // nobody asked
    if (on_async_) on_async_(std::get<AsyncLine>(m).text);
  }
  return alive;
}

}  // namespace ikepulse::shell
