# The IKE engine (included from src/ike/CMakeLists.txt).
add_library(ikepulse_ike outbox.cc algorithms.cc protect.cc vendor_ids.cc node.cc ikev1_session.cc main_mode.cc
            quick_mode.cc informational.cc half_open.cc main_mode_responder.cc
            ikev2_session.cc ikev2_proposals.cc ikev2_cookie.cc)
target_link_libraries(ikepulse_ike PUBLIC ikepulse_ike_core ikepulse_isakmp ikepulse_ikev2 ikepulse_crypto
                      ikepulse_config ikepulse_common)
ikepulse_test(half_open_test unit half_open_test.cc)
target_link_libraries(half_open_test PRIVATE ikepulse_ike)
ikepulse_test(protect_test unit protect_test.cc)
target_link_libraries(protect_test PRIVATE ikepulse_ike)
ikepulse_test(ikev2_session_test unit ikev2_session_test.cc ikev2_proposals_test.cc
             ikev2_cookie_test.cc)
target_link_libraries(ikev2_session_test PRIVATE ikepulse_ike)
