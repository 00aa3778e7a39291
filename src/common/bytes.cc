#include "common/bytes.h"

#include "common/check.h"

namespace ikepulse {

bool ByteReader::ReadU8(uint8_t& out) {
  if (remaining() < 1) return false;
  out = data_[offset_++];
  return true;
}
bool ByteReader::ReadU16(uint16_t& out) {
  if (remaining() < 2) return false;
  out = static_cast<uint16_t>((data_[offset_] << 8) | data_[offset_ + 1]);
  offset_ += 2;
  return true;
}
bool ByteReader::ReadU32(uint32_t& out) {
  if (remaining() < 4) return false;
  out = (uint32_t{data_[offset_]} << 24) | (uint32_t{data_[offset_ + 1]} << 16) |
        (uint32_t{data_[offset_ + 2]} << 8) | uint32_t{data_[offset_ + 3]};
  offset_ += 4;
  return true;
}
bool ByteReader::ReadBytes(size_t n, ByteSpan& out) {
  if (remaining() < n) return false;
  out = data_.subspan(offset_, n);
  offset_ += n;
  return true;
}
bool ByteReader::ReadBytes(size_t n, Bytes& out) {
  ByteSpan s;
  if (!ReadBytes(n, s)) return false;
  out.assign(s.begin(), s.end());
  return true;
}
bool ByteReader::Skip(size_t n) {
  if (remaining() < n) return false;
  offset_ += n;
  return true;
}

void ByteWriter::U16(uint16_t v) {
  U8(static_cast<uint8_t>(v >> 8));
  U8(static_cast<uint8_t>(v));
}
void ByteWriter::U32(uint32_t v) {
  U16(static_cast<uint16_t>(v >> 16));
  U16(static_cast<uint16_t>(v));
}
void ByteWriter::PatchU16(size_t at, uint16_t v) {
  IKEPULSE_CHECK(at + 2 <= size());
  buf()[at] = static_cast<uint8_t>(v >> 8);
  buf()[at + 1] = static_cast<uint8_t>(v);
}
void ByteWriter::PatchU32(size_t at, uint32_t v) {
  PatchU16(at, static_cast<uint16_t>(v >> 16));
  PatchU16(at + 2, static_cast<uint16_t>(v));
}

void SecureWipe(void* p, size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  while (n--) *v++ = 0;
}

void WipeAndFree(Bytes& b) {
  if (!b.empty()) SecureWipe(b.data(), b.size());
  Bytes().swap(b);
}

SecretBytes& SecretBytes::operator=(const SecretBytes& o) {
  if (this != &o) {
    Wipe();
    data_ = o.data_;
  }
  return *this;
}
SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    Wipe();
    data_ = std::move(o.data_);
    o.data_.clear();
  }
  return *this;
}
void SecretBytes::Wipe() {
  if (!data_.empty()) SecureWipe(data_.data(), data_.size());
  data_.clear();
}
void SecretBytes::Resize(size_t n) {
  std::vector<uint8_t> next(n, 0);
  for (size_t i = 0; i < n && i < data_.size(); ++i) next[i] = data_[i];
  Wipe();
  data_ = std::move(next);
}
bool SecretBytes::operator==(const SecretBytes& o) const {
  if (data_.size() != o.data_.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < data_.size(); ++i) diff |= data_[i] ^ o.data_[i];
  return diff == 0;
}

std::string ToHex(ByteSpan b) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 15]);
  }
  return s;
}

bool FromHex(std::string_view hex, Bytes& out) {
  out.clear();
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ' ' || c == '\n' || c == '\t' || c == ':' || c == '\r') continue;
    else return false;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return hi < 0;
}

Bytes HexOrDie(std::string_view hex) {
  Bytes out;
  IKEPULSE_CHECK(FromHex(hex, out));
  return out;
}

}  // namespace ikepulse
