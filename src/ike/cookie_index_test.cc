#include "ike/cookie_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

namespace ikepulse::ike {
namespace {

struct Sa {
  int n = 0;
};

std::vector<int> Rows(const CookieIndex<Sa>& idx, uint64_t key) {
  std::vector<int> out;
  idx.Find(key, [&](Sa* s) {
    out.push_back(s->n);
    return false;
  });
  return out;
}

TEST(CookieIndexTest, FindsEachRowAndStopsWhenAsked) {
  std::vector<Sa> sas(3);
  for (int i = 0; i < 3; ++i) sas[i].n = i;
  CookieIndex<Sa> idx(0x2545f4914f6cdd1dull);
  EXPECT_TRUE(Rows(idx, 7).empty());  // an empty table has no slots
  idx.Insert(7, &sas[0]);
  idx.Insert(9, &sas[1]);
  idx.Insert(7, &sas[2]);
  EXPECT_EQ(Rows(idx, 7), (std::vector<int>{0, 2}));  // insertion order
  EXPECT_EQ(Rows(idx, 9), (std::vector<int>{1}));
  EXPECT_TRUE(Rows(idx, 8).empty());
  int seen = 0;
  idx.Find(7, [&](Sa*) { return ++seen == 1; });
  EXPECT_EQ(seen, 1);
  EXPECT_FALSE(idx.Erase(7, &sas[1]));  // the row (7, sas[1]) does not exist
  EXPECT_TRUE(idx.Erase(7, &sas[0]));
  EXPECT_EQ(Rows(idx, 7), (std::vector<int>{2}));
  EXPECT_EQ(idx.size(), 2u);
}

// Random inserts and erases, checked against a model, through growth and shrinking: every
// key's rows are exactly the model's, in insertion order.
TEST(CookieIndexTest, MatchesAModelThroughGrowthShrinkAndDeletion) {
  std::mt19937_64 gen(42);
  std::vector<Sa> pool(20000);
  for (int i = 0; i < 20000; ++i) pool[i].n = i;
  CookieIndex<Sa> idx(0x2545f4914f6cdd1dull);
  std::map<uint64_t, std::vector<int>> model;
  std::vector<std::pair<uint64_t, int>> live;
  int next = 0;
  for (int step = 0; step < 60000; ++step) {
    const bool grow = step < 30000 ? gen() % 4 != 0 : gen() % 4 == 0;
    if ((grow || live.empty()) && next < 20000) {
      // Few distinct keys at times, so that runs of equal keys form; else random keys.
      const uint64_t key = step % 3 == 0 ? gen() % 64 : gen();
      idx.Insert(key, &pool[next]);
      model[key].push_back(next);
      live.emplace_back(key, next);
      ++next;
    } else if (!live.empty()) {
      const size_t at = gen() % live.size();
      auto [key, n] = live[at];
      live[at] = live.back();
      live.pop_back();
      ASSERT_TRUE(idx.Erase(key, &pool[n]));
      auto& v = model[key];
      v.erase(std::find(v.begin(), v.end(), n));
      if (v.empty()) model.erase(key);
    }
    if (step % 997 == 0) {
      ASSERT_EQ(idx.size(), live.size());
      for (const auto& [key, rows] : model) ASSERT_EQ(Rows(idx, key), rows) << key;
      ASSERT_LE(idx.size() * 2, std::max<size_t>(idx.capacity(), 16));
    }
  }
  for (const auto& [key, rows] : model) ASSERT_EQ(Rows(idx, key), rows) << key;
  while (!live.empty()) {
    ASSERT_TRUE(idx.Erase(live.back().first, &pool[live.back().second]));
    live.pop_back();
  }
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_LE(idx.capacity(), 16u);  // shrunk back
}

}  // namespace
}  // namespace ikepulse::ike
