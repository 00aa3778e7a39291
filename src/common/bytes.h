// Byte buffers: Bytes, a bounds-checked ByteReader, a ByteWriter, and SecretBytes.
//
// ByteReader contract (as QuicheDataReader's): every Read* returns [[nodiscard]] bool; after a
// failed read the reader must be thrown away. It keeps no error state for the caller.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ikepulse {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  [[nodiscard]] bool ReadU8(uint8_t& out);
  [[nodiscard]] bool ReadU16(uint16_t& out);  // network order
  [[nodiscard]] bool ReadU32(uint32_t& out);  // network order
  [[nodiscard]] bool ReadBytes(size_t n, ByteSpan& out);  // a view, no copy
  [[nodiscard]] bool ReadBytes(size_t n, Bytes& out);     // a copy
  [[nodiscard]] bool Skip(size_t n);

  size_t offset() const { return offset_; }
  size_t remaining() const { return data_.size() - offset_; }
  ByteSpan rest() const { return data_.subspan(offset_); }

 private:
  ByteSpan data_;
  size_t offset_ = 0;
};

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes& out) : out_(&out) {}

  void U8(uint8_t v) { buf().push_back(v); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void Append(ByteSpan b) { buf().insert(buf().end(), b.begin(), b.end()); }
  // Overwrites 2 bytes at `at` (for length fields filled in afterwards).
  void PatchU16(size_t at, uint16_t v);
  void PatchU32(size_t at, uint32_t v);
  size_t size() const { return out_ ? out_->size() : own_.size(); }
  Bytes& buf() { return out_ ? *out_ : own_; }
  Bytes Take() { return std::move(buf()); }

 private:
  Bytes own_;
  Bytes* out_ = nullptr;
};

// Secret material (keys, PSKs, DH secrets). Wipes itself (OPENSSL_cleanse-equivalent volatile
// wipe) on destruction and on reassignment. Never printed: there is no operator<<.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(ByteSpan b) : data_(b.begin(), b.end()) {}
  explicit SecretBytes(size_t n) : data_(n, 0) {}
  SecretBytes(const SecretBytes& o) : data_(o.data_) {}
  SecretBytes(SecretBytes&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
  SecretBytes& operator=(const SecretBytes& o);
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  ~SecretBytes() { Wipe(); }

  static SecretBytes FromString(const std::string& s) {
    return SecretBytes(ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  ByteSpan span() const { return data_; }
  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  void Resize(size_t n);  // wipes the old buffer if it moves
  void Wipe();
  bool operator==(const SecretBytes& o) const;  // constant-time for equal sizes

 private:
  std::vector<uint8_t> data_;
};

// Wipes memory in a way the compiler may not elide.
void SecureWipe(void* p, size_t n);
// Wipes a plain buffer that held something sensitive (a nonce, a DH public value) and frees
// its storage.
void WipeAndFree(Bytes& b);

std::string ToHex(ByteSpan b);
// Parses hex (whitespace and ':' ignored). Returns false on a bad digit or odd length.
bool FromHex(std::string_view hex, Bytes& out);
Bytes HexOrDie(std::string_view hex);  // for tests and constants only

inline ByteSpan AsSpan(const std::string& s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace ikepulse
