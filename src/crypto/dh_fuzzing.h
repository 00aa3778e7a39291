// Fuzzing only: fixed Diffie-Hellman key pairs, so that a fuzz target can replay whole IKE
// exchanges thousands of times a second and compute the peers' keys itself.
//
// Compiled only when IKEPULSE_FUZZING_FIXED_DH is defined, which only tests/fuzz/CMakeLists.txt
// does (on ikepulse_crypto, in the fuzz build tree). Without it this header declares nothing
// and DhKeyPair::Generate() always draws a fresh key. With it, Generate() still draws fresh
// keys until a fuzz target calls UseFixedDhKeyPairsForFuzzing() explicitly.
#pragma once

namespace ikepulse::crypto {

#ifdef IKEPULSE_FUZZING_FIXED_DH
// From now on, in this process, DhKeyPair::Generate(group) returns the same key pair for a
// group every time (a fixed private value), and ComputeShared() remembers its last results.
// Never call this outside a fuzz target: every "fresh" key is then the same known key.
void UseFixedDhKeyPairsForFuzzing();

// Routes OpenSSL's own allocations to the C library's allocator, around the sanitizer's (the
// OpenSSL library is not instrumented, so ASan only added its cost: ~100 us per IKE message).
// Our code's buffers handed to OpenSSL stay checked. Must run before OpenSSL allocates
// anything; false (and no change) otherwise.
bool UsePlainAllocatorInOpenSslForFuzzing();
#endif

}  // namespace ikepulse::crypto
