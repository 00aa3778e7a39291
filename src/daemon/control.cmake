# The control socket server (ControlServer). Included by src/daemon/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/control.cmake)
# Needs ikepulse_cli (src/cli) and ikepulse_control_protocol (src/cli/shell).
add_library(ikepulse_control ${CMAKE_CURRENT_LIST_DIR}/control_server.cc)
target_link_libraries(ikepulse_control PUBLIC ikepulse_cli ikepulse_control_protocol
                      ikepulse_common)
target_include_directories(ikepulse_control PUBLIC ${ikepulse_SOURCE_DIR}/src)

ikepulse_test(control_server_test unit ${CMAKE_CURRENT_LIST_DIR}/control_server_test.cc)
target_link_libraries(control_server_test PRIVATE ikepulse_control ikepulse_cli)
