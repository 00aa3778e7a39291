// Crash-safe file replacement for `write memory` / `copy running-config startup-config`.
//
// WriteFileAtomically(path, content): writes `content` to a temporary file in the same
// directory (".<name>.tmp.<pid>"), fsyncs it, renames it over `path` (atomic on POSIX), then
// fsyncs the directory so the rename itself survives a power loss. At every instant `path` is
// either the complete old file or the complete new one; a crash before the rename leaves the
// old file intact (and at worst a stale temp file, which the next write of the same pid
// replaces). The new file gets `mode` (0600 by default: startup-configs hold pre-shared keys).
//
// Returns nullopt on success, or an error text ("open ...: Permission denied"). Never throws.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

namespace ikepulse::daemon {

struct AtomicWriteHooks {
  // Test hook: runs after the temp file is written and fsynced, before the rename.
  std::function<void(const std::string& temp_path)> before_rename;
};

std::optional<std::string> WriteFileAtomically(const std::string& path, const std::string& content,
                                               mode_t mode = 0600,
                                               const AtomicWriteHooks& hooks = {});

// Reads a whole file. nullopt when it cannot be read (missing file included).
std::optional<std::string> ReadWholeFile(const std::string& path);

}  // namespace ikepulse::daemon
