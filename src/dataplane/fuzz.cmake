# libFuzzer target for the ESP data plane. Included from tests/fuzz/CMakeLists.txt after
# ikepulse_fuzz_target() is defined:
#   include(${CMAKE_SOURCE_DIR}/src/dataplane/fuzz.cmake OPTIONAL)
foreach(lib ikepulse_dataplane ikepulse_dataplane_io)
  if(TARGET ${lib})
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link ${_fuzz_opt})
  endif()
endforeach()
ikepulse_fuzz_target(fuzz_esp ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_esp.cc ikepulse_dataplane
                     ikepulse_dataplane_io)
