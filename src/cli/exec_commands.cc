#include "cli/command_tree.h"

namespace ikepulse::cli {
void AddExecCommands(Grammar&) {}
void AddShowCommands(Grammar&) {}
void AddClearDebugCommands(Grammar&) {}
}  // namespace ikepulse::cli
