#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "tradecore/alpaca_wire.hpp"
#include "tradecore/feed_checks.hpp"

using namespace tradecore;
using Check = FeedChecks::TradeCheck;

namespace {

Trade trade(std::uint32_t instrument, std::uint64_t id, std::int64_t ts) {
  Trade t{};
  t.instrument_id = instrument, t.trade_id = id, t.ts_event = ts, t.price = 10.0, t.size = 100.0;
  return t;
}

Quote quote(std::uint32_t instrument, std::int64_t ts, double bid) {
  Quote q{};
  q.instrument_id = instrument, q.ts_event = ts, q.bid_price = bid, q.ask_price = bid + 0.01;
  return q;
}

/// A clean frame of `trades` and `quotes`, each sorted by instrument, grouped as the decoder does.
alpaca::CleanFrame frame(std::vector<Trade> trades, std::vector<Quote> quotes) {
  alpaca::CleanFrame out;
  out.trades = std::move(trades);
  out.quotes = std::move(quotes);
  auto group = [](const auto& events, std::vector<alpaca::Group>& groups) {
    for (std::uint32_t k = 0; k < events.size(); ++k) {
      if (groups.empty() || groups.back().instrument_id != events[k].instrument_id)
        groups.push_back({events[k].instrument_id, k, k});
      groups.back().end = k + 1;
    }
  };
  group(out.trades, out.trade_groups);
  group(out.quotes, out.quote_groups);
  out.messages = out.trades.size() + out.quotes.size();
  return out;
}

}  // namespace

TEST_CASE("trades: duplicates refused, late ones kept and reported, state per symbol", "[feed_checks]") {
  FeedChecks checks(8);
  CHECK(checks.check_trade("AAPL", {1, 'V', 100}) == Check::New);
  CHECK(checks.check_trade("AAPL", {1, 'V', 100}) == Check::Duplicate);
  CHECK(checks.check_trade("AAPL", {1, 'Q', 100}) == Check::New);  // another exchange's id 1
  CHECK(checks.check_trade("MSFT", {1, 'V', 100}) == Check::New);  // another symbol
  CHECK(checks.check_trade("AAPL", {2, 'V', 90}) == Check::OutOfOrder);
  CHECK(checks.find("AAPL")->last_trade_ts == 100);  // the late one does not move the newest
  CHECK(checks.check_trade("AAPL", {2, 'V', 90}) == Check::Duplicate);  // yet it is remembered
  checks.reset("AAPL");
  CHECK(checks.check_trade("AAPL", {1, 'V', 100}) == Check::New);
  CHECK(checks.find("NVDA") == nullptr);
}

TEST_CASE("the last N trade keys are remembered exactly", "[feed_checks]") {
  FeedChecks checks(4);
  for (std::uint64_t id = 1; id <= 6; ++id) REQUIRE(checks.check_trade("A", {id, 0, 1}) == Check::New);
  const auto kept = checks.find("A")->recent.keys();
  REQUIRE(kept.size() == 4);
  CHECK(kept.front().trade_id == 3);  // oldest first
  CHECK(kept.back().trade_id == 6);
  CHECK(checks.check_trade("A", {3, 0, 1}) == Check::Duplicate);
  CHECK(checks.check_trade("A", {2, 0, 1}) == Check::New);  // forgotten: 4 newer ones came
}

TEST_CASE("RecentKeys agrees with a plain model under heavy collisions and eviction", "[feed_checks]") {
  // Few distinct keys, a small window: lookups, evictions and backward shifts all happen often.
  for (const std::size_t capacity : {1u, 2u, 7u, 16u, 100u}) {
    RecentKeys recent(capacity);
    std::deque<TradeKey> model;
    std::uint64_t state = 12345 + capacity;
    for (int step = 0; step < 20000; ++step) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const TradeKey key{(state >> 33) % 150, static_cast<std::uint8_t>((state >> 20) % 3), static_cast<std::int64_t>((state >> 40) % 5)};
      const bool known = std::find(model.begin(), model.end(), key) != model.end();
      REQUIRE(recent.contains(key) == known);
      if (!known) {
        recent.add(key);
        model.push_back(key);
        if (model.size() > capacity) model.pop_front();
      }
      REQUIRE(recent.size() == model.size());
    }
    const auto kept = recent.keys();
    REQUIRE(std::vector<TradeKey>(model.begin(), model.end()) == kept);
    for (const TradeKey& key : model) REQUIRE(recent.contains(key));
  }
}

TEST_CASE("RecentKeys agrees with the model for windows whose index fits the stored hash bits and larger",
          "[feed_checks]") {
  // 5,000 keys: an entry's stored hash bits hold its home slot (nothing read from the ring to
  // shift); 40,000: the index outgrows them and the shift reads the ring. Both fill and evict.
  for (const std::size_t capacity : {5000u, 40000u}) {
    RecentKeys recent(capacity);
    std::deque<TradeKey> model;
    std::unordered_map<std::uint64_t, int> count;  // by trade id (ids are the keys' only difference)
    std::uint64_t state = 777 + capacity;
    for (std::size_t step = 0; step < 3 * capacity; ++step) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const TradeKey key{(state >> 33) % (2 * capacity), 1, 7};
      const bool known = count[key.trade_id] > 0;
      REQUIRE(recent.contains(key) == known);
      if (!known) {
        recent.add(key);
        model.push_back(key);
        ++count[key.trade_id];
        if (model.size() > capacity) {
          --count[model.front().trade_id];
          model.pop_front();
        }
      }
    }
    REQUIRE(recent.size() == capacity);
    REQUIRE(std::vector<TradeKey>(model.begin(), model.end()) == recent.keys());
    for (const TradeKey& key : model) REQUIRE(recent.contains(key));
  }
}

TEST_CASE("quotes: an exact repeat of the last one is refused", "[feed_checks]") {
  FeedChecks checks(8);
  CHECK(checks.check_quote("A", quote(1, 5, 10.0)));
  CHECK_FALSE(checks.check_quote("A", quote(1, 5, 10.0)));
  CHECK(checks.check_quote("A", quote(1, 5, 10.01)));
  CHECK(checks.check_quote("A", quote(1, 5, 10.0)));  // only the last one counts
}

TEST_CASE("a clean frame is checked against the state, then remembered only on commit", "[feed_checks]") {
  FeedChecks checks(64);
  checks.bind("A", 1);
  checks.bind("B", 2);
  const auto first = frame({trade(1, 1, 10), trade(1, 2, 10), trade(2, 1, 10)}, {quote(2, 10, 5.0)});
  REQUIRE(checks.stage(first));
  CHECK((checks.find("A") == nullptr || checks.find("A")->recent.size() == 0));  // staged, not remembered
  REQUIRE(checks.stage(first));
  checks.commit();
  CHECK_THROWS_AS(checks.commit(), std::logic_error);  // once
  CHECK(checks.find("A")->last_trade_ts == 10);
  CHECK(checks.check_trade("A", {2, 0, 10}) == Check::Duplicate);  // the exact path sees it

  CHECK_FALSE(checks.stage(frame({trade(2, 1, 10)}, {})));                   // seen before
  CHECK_FALSE(checks.stage(frame({trade(1, 3, 9)}, {})));                    // older than A's newest
  CHECK_FALSE(checks.stage(frame({trade(1, 7, 11), trade(1, 7, 11)}, {})));  // repeated in the frame
  CHECK_FALSE(checks.stage(frame({}, {quote(2, 10, 5.0)})));                  // B's last quote again
  CHECK(checks.stage(frame({trade(1, 7, 11), trade(2, 7, 11)}, {quote(2, 11, 5.0)})));  // same id, two symbols
  checks.reset("B");  // drops what was staged
  CHECK_THROWS_AS(checks.commit(), std::logic_error);
  CHECK(checks.stage(frame({trade(2, 1, 10)}, {quote(2, 10, 5.0)})));  // B forgotten: clean again
  CHECK_THROWS_AS(checks.stage(frame({trade(3, 1, 10)}, {})), std::logic_error);  // unbound
}
