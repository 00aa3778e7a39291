# The control protocol's libFuzzer target. Included from tests/fuzz/CMakeLists.txt after
# ikepulse_fuzz_target() is defined:  include(${CMAKE_SOURCE_DIR}/src/cli/shell/fuzz.cmake)
if(TARGET ikepulse_control_protocol)
  target_compile_options(ikepulse_control_protocol PRIVATE -fsanitize=fuzzer-no-link ${_fuzz_opt})
  ikepulse_fuzz_target(fuzz_control_protocol
                       ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_control_protocol.cc
                       ikepulse_control_protocol)
endif()
