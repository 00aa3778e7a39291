#include "ike/message_id_window.h"

#include <algorithm>

namespace ikepulse::ike {

bool MessageIdWindow::Seen(uint32_t id) const {
  return id != 0 && std::find(ids_.begin(), ids_.end(), id) != ids_.end();
}

bool MessageIdWindow::Remember(uint32_t id) {
  if (id == 0 || Seen(id)) return false;
  ids_[next_] = id;
  next_ = static_cast<uint8_t>((next_ + 1) % kSize);
  return true;
}

}  // namespace ikepulse::ike
