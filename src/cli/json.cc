#include "cli/json.h"

#include <cstdio>

#include "cli/cli.h"
#include "cli/command_tree.h"
#include "cli/line_runner.h"
#include "cli/output_filter.h"

namespace ikepulse::cli {

std::string JsonEscape(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_items_.empty()) {
    if (has_items_.back()) out_ += ",";
    has_items_.back() = true;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_ += "{";
  has_items_.push_back(false);
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  out_ += "}";
  has_items_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_ += "[";
  has_items_.push_back(false);
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  out_ += "]";
  has_items_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  out_ += JsonEscape(key) + ":";
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::String(std::string_view v) {
  Separate();
  out_ += JsonEscape(v);
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t v) {
  Separate();
  out_ += std::to_string(v);
  return *this;
}
JsonWriter& JsonWriter::UInt(uint64_t v) {
  Separate();
  out_ += std::to_string(v);
  return *this;
}
JsonWriter& JsonWriter::Bool(bool v) {
  Separate();
  out_ += v ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null";
  return *this;
}

namespace {
std::string JsonError(std::string_view msg) {
  JsonWriter w;
  w.BeginObject().Field("error", msg).EndObject();
  return w.Take();
}
}  // namespace

std::string ShowJson(Backend& backend, std::string_view show_command) {
  const std::vector<Token> tokens = Tokenize(show_command);
  if (tokens.empty() || !IsPrefixOf(tokens[0].text, "show") || tokens[0].text.size() < 2)
    return JsonError("only show commands have a JSON form");
  // Output modifiers filter text lines; they have no meaning on a JSON document.
  if (PipeOffset(show_command))
    return JsonError("output modifiers (| include, ...) are not supported with JSON");
  WalkResult r = Walk(TheGrammar(), Mode::kPrivExec, show_command, tokens);
  if (r.status != WalkResult::Status::kOk) {
    LineError e = ErrorFor(r, show_command, tokens);
    std::string msg = e.message;
    if (e.column >= 0) msg += " (at column " + std::to_string(e.column + 1) + ")";
    return JsonError(msg);
  }
  CommandContext ctx;
  ModeState mode = ModeState::In(Mode::kPrivExec);
  TerminalState terminal;
  ctx.mode = &mode;
  ctx.terminal = &terminal;
  ctx.backend = &backend;
  ctx.json = true;
  ctx.args = std::move(r.args);
  if (auto err = r.node->handler(ctx)) return JsonError(*err);
  if (ctx.out.empty()) return JsonError("this show command has no JSON form");
  return ctx.out;
}

}  // namespace ikepulse::cli
