# The IKEv2 session libFuzzer target (arbitrary and forged datagrams into an Ikev2Session
# initiator and responder in each state; see fuzz_ikev2_session.cc). Included from
# tests/fuzz/CMakeLists.txt after ikepulse_fuzz_target() is defined:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/ikev2_session.cmake OPTIONAL)
# An input drives whole exchanges from a snapshot, slower than a parser target but far
# cheaper than fuzz_node's two engines; 60 s in CI keeps the whole fuzz step near 5-6 minutes.
set(IKEPULSE_FUZZ_IKEV2_SESSION_SECONDS 60 CACHE STRING
    "Seconds fuzz_ikev2_session runs under ctest -L fuzz")
set(_fuzz_seconds_fuzz_ikev2_session ${IKEPULSE_FUZZ_IKEV2_SESSION_SECONDS})
ikepulse_fuzz_target(fuzz_ikev2_session ${CMAKE_CURRENT_LIST_DIR}/fuzz_ikev2_session.cc
                     ikepulse_ike ikepulse_config)
