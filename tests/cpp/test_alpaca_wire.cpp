#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tradecore/alpaca_wire.hpp"

using namespace tradecore;
using namespace tradecore::alpaca;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'123'456'789;  // 2023-11-14T22:13:20.123456789Z

CleanFrameDecoder decoder() {
  CleanFrameDecoder d;
  d.set_condition_bits({{"@", 1}, {"I", 2}}, {{"R", 4}}, 1u << 31);
  d.add_symbol("AAPL", 7);
  d.add_symbol("MSFT", 3);
  return d;
}

std::string trade(const std::string& symbol, const std::string& t, const std::string& extra = "") {
  return R"({"T":"t","S":")" + symbol + R"(","i":9,"x":"V","p":10.5,"s":100,"c":["@","I","Q"],"t":")" +
         t + R"(","z":"C")" + extra + "}";
}

std::string quote(const std::string& symbol, const std::string& bid, const std::string& ask) {
  return R"({"T":"q","S":")" + symbol + R"(","bx":"V","bp":)" + bid + R"(,"bs":2,"ax":"Q","ap":)" +
         ask + R"(,"as":3,"c":["R"],"t":"2023-11-14T22:13:20.5Z"})";
}

}  // namespace

TEST_CASE("RFC 3339 stamps convert to exact ns and odd forms are refused", "[alpaca_wire]") {
  std::int64_t ns = 0;
  REQUIRE(parse_rfc3339_utc("2023-11-14T22:13:20.123456789Z", ns));
  CHECK(ns == kT0);
  REQUIRE(parse_rfc3339_utc("2023-11-14T22:13:20.1Z", ns));
  CHECK(ns == 1'700'000'000'100'000'000);
  REQUIRE(parse_rfc3339_utc("2023-11-14T22:13:20Z", ns));
  CHECK(ns == 1'700'000'000'000'000'000);
  REQUIRE(parse_rfc3339_utc("2000-02-29T00:00:00Z", ns));
  for (const char* bad : {"2023-02-29T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:13:60Z",
                          "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20.1234567890Z",
                          "2023-11-14t22:13:20Z", "2023-11-14T22:13:20z",
                          "2023-11-14T22:13:20+01:00", "0000-01-01T00:00:00Z",
                          "2300-01-01T00:00:00Z", "2023-11-14T22:13:2xZ", ""}) {
    CHECK_FALSE(parse_rfc3339_utc(bad, ns));
  }
}

TEST_CASE("a clean JSON frame gives sorted, grouped trades and quotes", "[alpaca_wire]") {
  const CleanFrameDecoder d = decoder();
  CleanFrame out;
  const std::string frame = " [" + trade("AAPL", "2023-11-14T22:13:20.123456789Z") + "," +
                            quote("MSFT", "10", "10.5") + "," +
                            trade("MSFT", "2023-11-14T22:13:20.2Z") + "," +
                            trade("AAPL", "2023-11-14T22:13:21Z") + "]\n";
  REQUIRE(d.decode_json(frame, out));
  CHECK(out.messages == 4);
  REQUIRE(out.trades.size() == 3);
  CHECK(out.trades[0].instrument_id == 3);  // sorted by instrument, arrival order within
  CHECK(out.trades[1].ts_event == kT0);
  CHECK(out.trades[2].ts_event == 1'700'000'001'000'000'000);
  CHECK(out.trades[1].conditions == (1u | 2u | (1u << 31)));
  CHECK(out.trades[1].exchange == 'V');
  CHECK(out.trades[1].trade_id == 9);
  REQUIRE(out.trade_groups.size() == 2);
  CHECK(out.trade_groups[1].instrument_id == 7);
  CHECK(out.trade_groups[1].start == 1);
  CHECK(out.trade_groups[1].end == 3);
  REQUIRE(out.quotes.size() == 1);
  CHECK(out.quotes[0].bid_price == 10.0);
  CHECK(out.quotes[0].ask_size == 3.0);
  CHECK(out.quotes[0].conditions == 4);
}

TEST_CASE("anything unusual makes a frame not clean", "[alpaca_wire]") {
  const CleanFrameDecoder d = decoder();
  CleanFrame out;
  const std::string t = "2023-11-14T22:13:20.1Z";
  const std::vector<std::string> frames = {
           "[]",
           "[" + trade("NVDA", t) + "]",                          // unknown symbol
           "[" + trade("AAPL", t, R"(,"p":1)") + "]",             // duplicate key
           "[" + trade("AAPL", t, R"(,"extra":{"a":1})") + "]",   // nested object
           "[" + trade("AAPL", "2023-11-14T22:13:20.1+01:00") + "]",
           "[" + trade("AAPL", t) + "] x",                        // trailing data
           "[" + trade("AAPL", t) + ",]",
           "[" + trade("A\\u0041PL", t) + "]",                    // escape
           "[" + quote("AAPL", "10.6", "10.5") + "]",             // crossed
           "[" + quote("AAPL", "0", "0") + "]",                   // zero
           "[" + quote("AAPL", "-0.0", "10") + "]",               // -0.0
           "[" + quote("AAPL", "NaN", "10") + "]",
           "[" + quote("AAPL", "01", "10") + "]",                 // not JSON
           "[" + quote("AAPL", "1e400", "10") + "]",
           "[" + quote("AAPL", "9007199254740993", "1e16") + "]",  // past 2**53
           "[" + quote("AAPL", "1", "2") + "," + quote("AAPL", "1", "2") + "]",  // repeated
           "[" + trade("AAPL", "2023-11-14T22:13:21Z") + "," + trade("AAPL", t) + "]",  // late
           R"([{"T":"s","S":"AAPL","sc":"H","t":"2023-11-14T22:13:20Z"}])",
           R"([{"T":"success","msg":"connected"}])",
  };
  for (const std::string& frame : frames) {
    INFO(frame);
    CHECK_FALSE(d.decode_json(frame, out));
  }
}

TEST_CASE("msgpack frames with 64-bit Timestamps decode exactly", "[alpaca_wire]") {
  const CleanFrameDecoder d = decoder();
  CleanFrame out;
  // [{"T":"t","S":"AAPL","p":1.5,"s":2,"t":Timestamp(kT0)}]
  const std::uint64_t packed = (std::uint64_t{123'456'789} << 34) | 1'700'000'000u;
  std::string frame = "\x91\x85\xa1T\xa1t\xa1S\xa4" "AAPL" "\xa1p\xcb";
  const double price = 1.5;
  std::uint64_t bits;
  std::memcpy(&bits, &price, sizeof bits);
  for (int k = 7; k >= 0; --k) frame += static_cast<char>((bits >> (8 * k)) & 0xff);
  frame += "\xa1s\x02\xa1t\xd7\xff";
  for (int k = 7; k >= 0; --k) frame += static_cast<char>((packed >> (8 * k)) & 0xff);
  REQUIRE(d.decode_msgpack(frame, out));
  REQUIRE(out.trades.size() == 1);
  CHECK(out.trades[0].ts_event == kT0);
  CHECK(out.trades[0].price == 1.5);
  CHECK(out.trades[0].size == 2.0);
  CHECK_FALSE(d.decode_msgpack(frame + std::string(1, '\0'), out));  // trailing data
  std::string nanos_too_big = frame;
  nanos_too_big[nanos_too_big.size() - 8] = '\xff';  // nanoseconds past 10**9
  CHECK_FALSE(d.decode_msgpack(nanos_too_big, out));
}
