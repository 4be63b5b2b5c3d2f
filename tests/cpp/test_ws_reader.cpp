#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tradecore/ws_reader.hpp"

using tradecore::ws::Opcode;
using tradecore::ws::ProtocolError;
using tradecore::ws::WsReader;

namespace {

using Got = std::vector<std::pair<Opcode, std::string>>;

/// An unmasked server frame. `first_byte_extra` ORs bits (RSV, FIN cleared by fin=false).
std::string frame(Opcode opcode, const std::string& payload, bool fin = true, bool rsv1 = false,
                  unsigned extra_b0 = 0, bool masked = false) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | extra_b0 | static_cast<unsigned>(opcode));
  const std::size_t n = payload.size();
  const char mask_bit = masked ? '\x80' : '\x00';
  if (n < 126) {
    out += static_cast<char>(mask_bit | static_cast<char>(n));
  } else if (n < 65536) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xFF);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int k = 7; k >= 0; --k) out += static_cast<char>((n >> (8 * k)) & 0xFF);
  }
  if (masked) out += std::string(4, '\0');
  return out + payload;
}

/// A raw-deflate compressor as a permessage-deflate server uses it (sync flush, tail removed).
struct Deflater {
  z_stream zs{};
  bool reset_each;
  explicit Deflater(bool no_context_takeover = false, int bits = 15) : reset_each(no_context_takeover) {
    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY);
  }
  ~Deflater() { deflateEnd(&zs); }
  std::string operator()(const std::string& data) {
    std::string out(data.size() + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_SYNC_FLUSH);
    out.resize(out.size() - zs.avail_out);
    REQUIRE(out.substr(out.size() - 4) == std::string("\x00\x00\xff\xff", 4));
    out.resize(out.size() - 4);
    if (reset_each) deflateReset(&zs);
    return out;
  }
};

Got feed(WsReader& reader, const std::string& bytes, std::size_t chunk = 0) {
  Got got;
  auto sink = [&](Opcode op, std::string_view payload) { got.emplace_back(op, std::string(payload)); };
  if (chunk == 0) {
    reader.feed(bytes, sink);
  } else {
    for (std::size_t at = 0; at < bytes.size(); at += chunk) reader.feed(std::string_view(bytes).substr(at, chunk), sink);
  }
  return got;
}

/// Feed `bytes`; expect ProtocolError naming `what`, after `before` messages were delivered.
void expect_violation(WsReader& reader, const std::string& bytes, const std::string& what, std::size_t before) {
  Got got;
  auto sink = [&](Opcode op, std::string_view payload) { got.emplace_back(op, std::string(payload)); };
  try {
    reader.feed(bytes, sink);
    FAIL("no ProtocolError; expected one about " << what);
  } catch (const ProtocolError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find(what) != std::string::npos);
    // The close code the connection ends with (RFC 6455 7.4.1): "message too big" for size,
    // "invalid data" for text that is not UTF-8, else "protocol error".
    const bool too_big = what.find("max_size") != std::string::npos || what == "once inflated";
    const bool not_utf8 = what.find("invalid UTF-8") != std::string::npos;
    CHECK(e.close_code() == (too_big    ? ProtocolError::kMessageTooBig
                             : not_utf8 ? ProtocolError::kInvalidData
                                        : ProtocolError::kProtocolError));
  }
  CHECK(got.size() == before);
  CHECK(reader.failed());
  CHECK_THROWS_AS(reader.feed("\x82\x00", sink), ProtocolError);  // unusable afterwards
}

}  // namespace

TEST_CASE("ws reader: text, binary and control frames in order, whole or split") {
  const std::string bytes = frame(Opcode::Text, "hello") + frame(Opcode::Ping, "p1") +
                            frame(Opcode::Binary, std::string("\x00\x01\x02", 3)) +
                            frame(Opcode::Pong, "") + frame(Opcode::Close, "\x03\xe8" "bye");
  const Got expected{{Opcode::Text, "hello"}, {Opcode::Ping, "p1"}, {Opcode::Binary, std::string("\x00\x01\x02", 3)},
                     {Opcode::Pong, ""}, {Opcode::Close, "\x03\xe8" "bye"}};
  for (std::size_t chunk : {0u, 1u, 2u, 3u, 7u}) {
    WsReader reader(1 << 20);
    CHECK(feed(reader, bytes, chunk) == expected);
  }
}

TEST_CASE("ws reader: 16- and 64-bit lengths, a large message fed byte by byte") {
  std::string medium(300, 'm'), large(70000, '\0');
  for (std::size_t k = 0; k < large.size(); ++k) large[k] = static_cast<char>(k * 7);
  WsReader reader(1 << 20);
  const Got got = feed(reader, frame(Opcode::Binary, medium) + frame(Opcode::Binary, large), 1);
  REQUIRE(got.size() == 2);
  CHECK(got[0].second == medium);
  CHECK(got[1].second == large);
}

TEST_CASE("ws reader: fragmented messages are reassembled; control frames may interleave") {
  const std::string bytes = frame(Opcode::Text, "he", false) + frame(Opcode::Ping, "x") +
                            frame(Opcode::Continuation, "ll", false) + frame(Opcode::Continuation, "o");
  WsReader reader(1 << 20);
  CHECK(feed(reader, bytes, 1) == Got{{Opcode::Ping, "x"}, {Opcode::Text, "hello"}});
}

TEST_CASE("ws reader: permessage-deflate with context takeover keeps the window across messages") {
  Deflater deflate;
  const std::string message = "{\"T\":\"t\",\"S\":\"AAPL\",\"p\":189.5,\"s\":100}";
  const std::string first = deflate(message), second = deflate(message);
  CHECK(second.size() < first.size());  // refers back into the first message
  WsReader reader(1 << 20, true, false, 15);
  CHECK(feed(reader, frame(Opcode::Text, first, true, true) + frame(Opcode::Text, second, true, true), 3) ==
        Got{{Opcode::Text, message}, {Opcode::Text, message}});
  // A reader resetting each message cannot read the second one.
  WsReader resetting(1 << 20, true, true, 15);
  expect_violation(resetting, frame(Opcode::Text, first, true, true) + frame(Opcode::Text, second, true, true),
                   "bad compressed data", 1);
}

TEST_CASE("ws reader: server_no_context_takeover and a small window; uncompressed messages mix in") {
  Deflater deflate(true, 9);
  std::string big(5000, 'z');
  for (std::size_t k = 0; k < big.size(); k += 3) big[k] = static_cast<char>('a' + k % 26);
  const std::string bytes = frame(Opcode::Binary, deflate(big), true, true) + frame(Opcode::Binary, "plain") +
                            frame(Opcode::Binary, deflate(big), true, true);
  WsReader reader(1 << 20, true, true, 9);
  CHECK(feed(reader, bytes, 5) == Got{{Opcode::Binary, big}, {Opcode::Binary, "plain"}, {Opcode::Binary, big}});
}

TEST_CASE("ws reader: a compressed message fragmented over frames (RSV1 on the first only)") {
  Deflater deflate;
  const std::string message(20000, 'q');
  const std::string compressed = deflate(message);
  const std::size_t half = compressed.size() / 2;
  const std::string bytes = frame(Opcode::Binary, compressed.substr(0, half), false, true) +
                            frame(Opcode::Continuation, compressed.substr(half));
  WsReader reader(1 << 20, true);
  CHECK(feed(reader, bytes, 1) == Got{{Opcode::Binary, message}});
}

TEST_CASE("ws reader: protocol violations are named; messages before them were delivered") {
  const std::string ok = frame(Opcode::Binary, "ok");
  struct Case {
    std::string bytes;
    std::string what;
    bool compressed = false;
  };
  const std::vector<Case> cases{
      {frame(Opcode::Binary, "x", true, false, 0, true), "masked"},
      {frame(Opcode::Binary, "x", true, true), "RSV1 set but permessage-deflate was not negotiated"},
      {frame(Opcode::Binary, "x", true, false, 0x20), "RSV2/RSV3"},
      {frame(Opcode::Binary, "x", true, false, 0x10), "RSV2/RSV3"},
      {frame(Opcode::Ping, std::string(126, 'p')), "control frame of 126 bytes"},
      {frame(Opcode::Ping, "p", false), "fragmented control frame"},
      {frame(Opcode::Pong, "p", true, true), "RSV1 set on a control frame", true},
      {frame(Opcode::Continuation, "c"), "continuation frame without"},
      {frame(Opcode::Text, "a", false) + frame(Opcode::Text, "b"), "inside a fragmented message"},
      {frame(Opcode::Text, "a", false, true) + frame(Opcode::Continuation, "b", true, true), "RSV1 set on a continuation", true},
      {frame(Opcode::Binary, std::string(101, 'b')), "larger than max_size"},
      {frame(Opcode::Binary, std::string(60, 'b'), false) + frame(Opcode::Continuation, std::string(60, 'b')), "larger than max_size"},
      {frame(Opcode::Binary, "\xff\xff\xff\xff", true, true), "bad compressed data", true},
      {frame(Opcode::Text, "caf\xc3"), "invalid UTF-8"},
      {frame(static_cast<Opcode>(3), "x"), "unknown opcode 3"},
      {frame(Opcode::Close, "\x03"), "1-byte payload"},
      {frame(Opcode::Close, "\x03\xe8\xff"), "invalid UTF-8 in a close reason"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    WsReader reader(100, c.compressed);
    expect_violation(reader, ok + c.bytes, c.what, 1);
  }
  // A message that inflates beyond max_size fails even though its compressed frame is small.
  Deflater deflate;
  WsReader reader(1000, true);
  expect_violation(reader, frame(Opcode::Binary, deflate(std::string(5000, 'z')), true, true), "once inflated", 0);
}

TEST_CASE("ws reader: UTF-8 validation") {
  using tradecore::ws::valid_utf8;
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii text that is longer than eight bytes"));
  CHECK(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(valid_utf8("\xe2\x82"));          // truncated
  CHECK_FALSE(valid_utf8("abcdefgh\x80"));      // stray continuation after the fast path
}

TEST_CASE("ws reader: bad parameters are configuration errors") {
  CHECK_THROWS_AS(WsReader(0), tradecore::ConfigError);
  CHECK_THROWS_AS(WsReader(100, true, false, 7), tradecore::ConfigError);
  CHECK_THROWS_AS(WsReader(100, true, false, 16), tradecore::ConfigError);
}
