#include "daemon/atomic_file.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace ikepulse::daemon {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ikepulse_atomic_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/startup-config";
  }
  void TearDown() override {
    for (const std::string& f : Files()) unlink((dir_ + "/" + f).c_str());
    rmdir(dir_.c_str());
  }
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    DIR* d = opendir(dir_.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
    return out;
  }
  // Runs a write in a child that dies (by `how`) just before the rename.
  void CrashingWrite(const std::string& content, int how) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      AtomicWriteHooks hooks;
      hooks.before_rename = [how](const std::string&) {
        if (how == SIGKILL) raise(SIGKILL);
        _exit(7);
      };
      WriteFileAtomically(path_, content, 0600, hooks);
      _exit(0);  // not reached
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (how == SIGKILL) {
      ASSERT_TRUE(WIFSIGNALED(status));
      EXPECT_EQ(WTERMSIG(status), SIGKILL);
    } else {
      ASSERT_TRUE(WIFEXITED(status));
      EXPECT_EQ(WEXITSTATUS(status), 7);
    }
  }

  std::string dir_;
  std::string path_;
};

TEST_F(AtomicFileTest, WritesAndReplaces) {
  EXPECT_EQ(ReadWholeFile(path_), std::nullopt);
  EXPECT_EQ(WriteFileAtomically(path_, "hostname A\n"), std::nullopt);
  EXPECT_EQ(ReadWholeFile(path_), "hostname A\n");
  EXPECT_EQ(WriteFileAtomically(path_, "hostname B\n"), std::nullopt);
  EXPECT_EQ(ReadWholeFile(path_), "hostname B\n");
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // holds pre-shared keys
  EXPECT_EQ(Files(), std::vector<std::string>{"startup-config"});  // no temp left behind
}

TEST_F(AtomicFileTest, CrashBeforeRenameKeepsOldFile) {
  ASSERT_EQ(WriteFileAtomically(path_, "old config\n"), std::nullopt);
  CrashingWrite("new config that never lands\n", 0);
  EXPECT_EQ(ReadWholeFile(path_), "old config\n");
  CrashingWrite("another one\n", SIGKILL);
  EXPECT_EQ(ReadWholeFile(path_), "old config\n");
  // The crashed writers left their temp files (complete, never renamed); the next write works.
  EXPECT_EQ(Files().size(), 3u);
  EXPECT_EQ(WriteFileAtomically(path_, "newest\n"), std::nullopt);
  EXPECT_EQ(ReadWholeFile(path_), "newest\n");
}

TEST_F(AtomicFileTest, LargeContent) {
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = '\n';
  EXPECT_EQ(WriteFileAtomically(path_, big), std::nullopt);
  EXPECT_EQ(ReadWholeFile(path_), big);
}

TEST_F(AtomicFileTest, ErrorsAreReportedNotThrown) {
  auto err = WriteFileAtomically(dir_ + "/missing-dir/startup-config", "x");
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("missing-dir"), std::string::npos);
  EXPECT_TRUE(WriteFileAtomically(dir_ + "/", "x").has_value());
}

}  // namespace
}  // namespace ikepulse::daemon
