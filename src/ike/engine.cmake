# The IKE engine (included from src/ike/CMakeLists.txt).
add_library(ikepulse_ike outbox.cc algorithms.cc protect.cc vendor_ids.cc node.cc main_mode.cc
            quick_mode.cc informational.cc half_open.cc main_mode_responder.cc)
target_link_libraries(ikepulse_ike PUBLIC ikepulse_ike_core ikepulse_isakmp ikepulse_crypto
                      ikepulse_config ikepulse_common)
ikepulse_test(half_open_test unit half_open_test.cc)
target_link_libraries(half_open_test PRIVATE ikepulse_ike)
ikepulse_test(protect_test unit protect_test.cc)
target_link_libraries(protect_test PRIVATE ikepulse_ike)
