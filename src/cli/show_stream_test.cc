// Streamed shows: page by page they render exactly what the one-shot show renders, filters
// included, and keys that go away meanwhile are skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cli/config_util.h"
#include "cli/fake_backend.h"
#include "cli/output_filter.h"
#include "cli/session.h"
#include "cli/show.h"
#include "cli/show_stream.h"

namespace ikepulse::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

IsakmpSaInfo Sa(uint32_t i) {
  IsakmpSaInfo sa;
  sa.dst = IpAddress::V4FromU32(0x0A020000u + i);
  sa.src = V4("10.1.32.14");
  sa.state = "QM_IDLE";
  sa.conn_id = 1000 + i;
  sa.encryption = "aes";
  sa.hash = "sha";
  sa.auth = "psk";
  sa.group = 14;
  sa.lifetime_left_s = 86000 + i;
  sa.capabilities = "D";
  sa.dpd.enabled = true;
  sa.dpd.active = true;
  sa.dpd.interval_s = 10;
  sa.dpd.retry_s = 2;
  sa.dpd.peer_supports = true;
  sa.dpd.last_heard_s_ago = static_cast<int64_t>(i % 10);
  return sa;
}

IpsecSaInfo Flow(uint32_t entry, uint32_t line) {
  IpsecSaInfo s;
  s.map_name = "green";
  s.seq = entry;
  s.interface = entry % 2 ? "Gi0/0" : "Gi0/1";
  s.local_addr = V4("10.1.32.14");
  s.local_ident = {IpAddress::V4FromU32(0x0A010000u + line * 256), V4("255.255.255.0"), 0, 0};
  s.remote_ident = {IpAddress::V4FromU32(0x0A020000u + entry * 256), V4("255.255.255.0"), 0, 0};
  s.current_peer = IpAddress::V4FromU32(0xC0000200u + entry);
  s.pkts_encaps = entry * 10 + line;
  return s;
}

CryptoSessionInfo Session_(uint32_t i) {
  CryptoSessionInfo s;
  s.interface = "Gi0/0";
  s.peer = IpAddress::V4FromU32(0x0A020000u + i);
  s.phase1_id = s.peer.ToString();
  CryptoSessionInfo::IkeSa ike;
  ike.local = V4("10.1.32.14");
  ike.remote = s.peer;
  ike.conn_id = 1000 + i;
  s.ike_sas.push_back(ike);
  CryptoSessionInfo::Flow f;
  f.description = "permit ip 10.1.0.0/255.255.0.0 10.2.0.0/255.255.0.0";
  f.active_sas = 2;
  s.flows.push_back(f);
  return s;
}

struct Fixture {
  FakeBackend b;
  Fixture() {
    for (uint32_t i = 1; i <= 23; ++i) b.isakmp_sas.push_back(Sa(i));
    for (uint32_t e = 1; e <= 9; ++e)
      for (uint32_t l = 0; l < 1 + e % 3; ++l) b.ipsec_sas.push_back(Flow(e, l));
    for (uint32_t i = 1; i <= 17; ++i) b.sessions.push_back(Session_(i));
  }
  // The whole output of `line` in a session that renders it at once.
  std::string OneShot(const std::string& line) {
    Session s(b);
    s.Execute("enable");
    Session::Reply r = s.Execute(line);
    EXPECT_FALSE(r.pending);
    EXPECT_FALSE(r.error) << r.output;
    return r.output;
  }
  // The same through a streaming session, `page` keys per Continue(); counts the pages.
  std::string Streamed(const std::string& line, size_t page, int* pages = nullptr) {
    Session s(b);
    s.set_streaming(true);
    s.set_stream_page(page);
    s.Execute("enable");
    Session::Reply r = s.Execute(line);
    EXPECT_FALSE(r.error) << r.output;
    std::string out = r.output;
    int n = 0;
    while (r.pending && n < 10000) {
      EXPECT_TRUE(s.running());
      EXPECT_TRUE(s.streaming());
      r = s.Continue();
      out += r.output;
      ++n;
    }
    EXPECT_FALSE(s.running());
    if (pages) *pages = n;
    return out;
  }
};

TEST(ShowStream, PagesConcatenateToTheOneShotOutput) {
  Fixture f;
  for (const char* line :
       {"show crypto isakmp sa", "show crypto isakmp sa detail", "show crypto ipsec sa",
        "show crypto ipsec sa peer 192.0.2.3", "show crypto session",
        "show crypto session detail"}) {
    const std::string whole = f.OneShot(line);
    ASSERT_FALSE(whole.empty()) << line;
    for (size_t page : {1u, 2u, 5u, 256u}) {
      int pages = 0;
      EXPECT_EQ(f.Streamed(line, page, &pages), whole) << line << " page " << page;
      EXPECT_GE(pages, 1);
    }
  }
}

TEST(ShowStream, OnePagePerContinue) {
  Fixture f;
  int pages = 0;
  f.Streamed("show crypto isakmp sa", 5, &pages);
  EXPECT_EQ(pages, 5);  // 23 SAs, 5 per page
  f.Streamed("show crypto session", 4, &pages);
  EXPECT_EQ(pages, 5);  // 17 peers, 4 per page
}

TEST(ShowStream, OutputModifiersApplyToEveryPage) {
  Fixture f;
  for (const char* line :
       {"show crypto isakmp sa | include 10.2.0.1", "show crypto isakmp sa detail | section 1012",
        "show crypto isakmp sa detail | begin 1020", "show crypto isakmp sa | count QM_IDLE",
        "show crypto ipsec sa | exclude pkts", "show crypto session | i Peer"}) {
    const std::string whole = f.OneShot(line);
    EXPECT_EQ(f.Streamed(line, 3), whole) << line;
  }
  EXPECT_EQ(f.Streamed("show crypto isakmp sa | count QM_IDLE", 2),
            "Number of lines which match regexp = 23\n");
}

TEST(ShowStream, ABadRegexStopsTheStream) {
  Fixture f;
  Session s(f.b);
  s.set_streaming(true);
  s.Execute("enable");
  Session::Reply r = s.Execute("show crypto isakmp sa | include (");
  EXPECT_TRUE(r.error);
  EXPECT_FALSE(r.pending);
  EXPECT_FALSE(s.running());
}

TEST(ShowStream, AnSaGoneBeforeItsPageIsLeftOut) {
  Fixture f;
  Session s(f.b);
  s.set_streaming(true);
  s.set_stream_page(4);
  s.Execute("enable");
  Session::Reply r = s.Execute("show crypto isakmp sa");
  ASSERT_TRUE(r.pending);
  std::string out = r.output;
  r = s.Continue();
  out += r.output;
  // conn-id 1010 (the 10th) goes away and 1099 appears while the show runs.
  f.b.isakmp_sas.erase(f.b.isakmp_sas.begin() + 9);
  f.b.isakmp_sas.push_back(Sa(99));
  while (r.pending) {
    r = s.Continue();
    out += r.output;
  }
  EXPECT_THAT(out, HasSubstr(" 1009 ACTIVE"));
  EXPECT_THAT(out, Not(HasSubstr(" 1010 ACTIVE")));
  EXPECT_THAT(out, Not(HasSubstr(" 1099 ACTIVE")));
  EXPECT_THAT(out, HasSubstr(" 1023 ACTIVE\n\nIPv6 Crypto ISAKMP SA\n\n"));
}

TEST(ShowStream, StreamFilterMatchesTheWholeTextFilterAtAnySplit) {
  const std::string text =
      "top one\n  child a\n  child b\ntop two\n  child a\nplain\n  x a\nlast without newline";
  for (FilterKind k : {FilterKind::kInclude, FilterKind::kExclude, FilterKind::kBegin,
                       FilterKind::kSection, FilterKind::kCount}) {
    const OutputFilter f{k, "a|two"};
    const std::string whole = *ApplyOutputFilter(f, text);
    for (size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
      for (size_t cut2 = cut1; cut2 <= text.size(); cut2 += 7) {
        StreamFilter s(f);
        ASSERT_TRUE(s.ok());
        std::string out = s.Feed(text.substr(0, cut1));
        out += s.Feed(text.substr(cut1, cut2 - cut1));
        out += s.Feed(text.substr(cut2));
        out += s.Finish();
        if (!out.empty() && out.back() != '\n') out += '\n';
        ASSERT_EQ(out, whole) << static_cast<int>(k) << " " << cut1 << " " << cut2;
      }
    }
  }
}

}  // namespace
}  // namespace ikepulse::cli
