#include "daemon/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ikepulse::daemon {

namespace {
std::string Err(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}
}  // namespace

std::optional<std::string> WriteFileAtomically(const std::string& path, const std::string& content,
                                               mode_t mode, const AtomicWriteHooks& hooks) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return "invalid path " + path;
  const std::string temp = dir + "/." + base + ".tmp." + std::to_string(getpid());

  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Err("open", temp);
  fchmod(fd, mode);  // O_CREAT's mode is masked by the umask
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string e = Err("write", temp);
      close(fd);
      unlink(temp.c_str());
      return e;
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    const std::string e = Err("fsync", temp);
    close(fd);
    unlink(temp.c_str());
    return e;
  }
  if (close(fd) != 0) {
    const std::string e = Err("close", temp);
    unlink(temp.c_str());
    return e;
  }
  if (hooks.before_rename) hooks.before_rename(temp);
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const std::string e = Err("rename", path);
    unlink(temp.c_str());
    return e;
  }
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Err("open", dir);
  const int rc = fsync(dfd);
  const std::string e = rc != 0 ? Err("fsync", dir) : std::string();
  close(dfd);
  if (rc != 0) return e;
  return std::nullopt;
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace ikepulse::daemon
