# The whole-engine libFuzzer target (datagrams into an ike::Node in each state). Included from
# tests/fuzz/CMakeLists.txt after ikepulse_fuzz_target() is defined:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/node.cmake OPTIONAL)
if(TARGET ikepulse_ike_core)
  target_compile_options(ikepulse_ike_core PRIVATE -fsanitize=fuzzer-no-link)
endif()
ikepulse_fuzz_target(fuzz_node ${CMAKE_CURRENT_LIST_DIR}/fuzz_node.cc ikepulse_ike ikepulse_config)
# The two nodes' configs come from the scenario tests' site builder (tests/scenarios/).
target_include_directories(fuzz_node PRIVATE ${CMAKE_SOURCE_DIR}/tests)
