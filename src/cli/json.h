// A minimal JSON writer (no dependency): objects, arrays, strings, numbers, booleans. Internal
// to src/cli; used for ShowJson.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ikepulse::cli {

std::string JsonEscape(std::string_view s);  // with the surrounding quotes

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view v);
  JsonWriter& Int(int64_t v);
  JsonWriter& UInt(uint64_t v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // Key + value shorthands.
  JsonWriter& Field(std::string_view k, std::string_view v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, const char* v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, bool v) { return Key(k).Bool(v); }
  JsonWriter& Field(std::string_view k, int64_t v) { return Key(k).Int(v); }
  JsonWriter& Field(std::string_view k, uint64_t v) { return Key(k).UInt(v); }
  JsonWriter& Field(std::string_view k, uint32_t v) { return Key(k).UInt(v); }
  JsonWriter& Field(std::string_view k, uint16_t v) { return Key(k).UInt(v); }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();
  std::string out_;
  std::vector<bool> has_items_;
  bool after_key_ = false;
};

}  // namespace ikepulse::cli
