#include "ike/timer_queue.h"

namespace ikepulse::ike {

// Compiled once here so that every member of the template is type-checked by the library
// build, and users keyed by plain uint64_t ids share one instantiation.
template class TimerQueue<uint64_t>;

}  // namespace ikepulse::ike
