# The whole-engine libFuzzer target (datagrams into an ike::Node in each state). Included from
# tests/fuzz/CMakeLists.txt after ikepulse_fuzz_target() is defined:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/node.cmake OPTIONAL)
if(TARGET ikepulse_ike_core)
  target_compile_options(ikepulse_ike_core PRIVATE -fsanitize=fuzzer-no-link ${_fuzz_opt})
endif()
# The engine target runs longer than the codec targets: an input drives whole exchanges
# (~1,300 inputs/s under ASan+UBSan against 10-100k/s for a parser), and the states after
# authentication are reached by inputs built on earlier finds. 120 s (~150,000 inputs) keeps
# the CI fuzz step near 4 minutes (the other targets run IKEPULSE_FUZZ_SECONDS each).
set(IKEPULSE_FUZZ_NODE_SECONDS 120 CACHE STRING "Seconds fuzz_node runs under ctest -L fuzz")
set(_fuzz_seconds_fuzz_node ${IKEPULSE_FUZZ_NODE_SECONDS})
ikepulse_fuzz_target(fuzz_node ${CMAKE_CURRENT_LIST_DIR}/fuzz_node.cc ikepulse_ike ikepulse_config)
target_sources(fuzz_node PRIVATE ${CMAKE_CURRENT_LIST_DIR}/forger.cc)
# The two nodes' configs come from the scenario tests' site builder (tests/scenarios/).
target_include_directories(fuzz_node PRIVATE ${CMAKE_SOURCE_DIR}/tests)
