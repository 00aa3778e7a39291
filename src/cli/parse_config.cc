// ParseConfigText: a startup-config applied line by line in global configuration mode.
#include "cli/cli.h"
#include "cli/line_runner.h"

namespace ikepulse::cli {

Result<config::Config, CliError> ParseConfigText(std::string_view text) {
  const Grammar& g = TheGrammar();
  config::Config cfg;
  ParseIndexes indexes;
  ModeState mode;
  mode.mode = Mode::kConfig;
  int lineno = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    std::vector<Token> tokens = Tokenize(line);
    if (tokens.empty() || tokens[0].text[0] == '!') continue;
    if (tokens.size() == 1 && tokens[0].text == "end") break;
    WalkResult r = Resolve(g, mode.mode, line, tokens);
    if (r.status != WalkResult::Status::kOk) {
      LineError e = ErrorFor(r, line, tokens);
      const int col = e.column >= 0 ? e.column + 1 : static_cast<int>(line.size()) + 1;
      return MakeUnexpected(CliError{lineno, col, e.message});
    }
    if (r.exec) {
      return MakeUnexpected(CliError{lineno, tokens[0].offset + 1,
                                     "% EXEC commands are not accepted in a configuration"});
    }
    if (r.mode != mode.mode) mode = mode.LeaveTo(r.mode);  // fallback left the sub-mode
    CommandContext ctx;
    ctx.config = &cfg;
    ctx.indexes = &indexes;
    ctx.mode = &mode;
    ctx.negate = r.negate;
    ctx.args = std::move(r.args);
    const Handler& h = r.negate ? r.node->no_handler : r.node->handler;
    if (auto err = h(ctx)) return MakeUnexpected(CliError{lineno, tokens[0].offset + 1, *err});
    if (!IsConfigMode(mode.mode)) mode = ModeState::In(Mode::kConfig);
  }
  return cfg;
}

}  // namespace ikepulse::cli
