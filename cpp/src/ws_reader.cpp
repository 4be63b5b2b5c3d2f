#include "tradecore/ws_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace tradecore::ws {

namespace {
// RFC 7692 7.2.2: each compressed message ends with an empty stored block the sender removed.
constexpr char kTail[] = {'\x00', '\x00', '\xff', '\xff'};
}  // namespace

bool valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // Skip ASCII 8 bytes at a time: market data is mostly ASCII.
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if (word & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p == end) break;
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) low = 0xA0;   // overlong
      if (c == 0xED) high = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) low = 0x90;   // overlong
      if (c == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    if (p[1] < low || p[1] > high) return false;
    for (int k = 2; k <= extra; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
    }
    p += extra + 1;
  }
  return true;
}

struct WsReader::Inflater {
  z_stream stream{};
  explicit Inflater(int window_bits) {
    if (inflateInit2(&stream, -window_bits) != Z_OK) throw Error("zlib inflateInit2 failed");
  }
  ~Inflater() { inflateEnd(&stream); }
};

WsReader::WsReader(std::size_t max_size, bool compressed, bool no_context_takeover,
                   int max_window_bits)
    : max_size_(max_size), no_context_takeover_(no_context_takeover) {
  if (max_size == 0) throw ConfigError("max_size must be positive");
  if (max_window_bits < 8 || max_window_bits > 15) {
    throw ConfigError("max_window_bits must be in 8..15, not " + std::to_string(max_window_bits));
  }
  // zlib's deflate never uses an 8-bit window (it writes 9 instead), and a larger window
  // inflates any stream of a smaller one: 9 accepts what a server announcing 8 sends.
  if (compressed) inflater_ = std::make_unique<Inflater>(std::max(max_window_bits, 9));
}

WsReader::~WsReader() = default;

void WsReader::fail(const std::string& what, int close_code) {
  throw ProtocolError(what, close_code);  // feed() marks the reader failed
}

bool WsReader::parse_header(std::string_view data, Header& header) {
  if (data.size() < 2) return false;
  const auto b0 = static_cast<std::uint8_t>(data[0]);
  const auto b1 = static_cast<std::uint8_t>(data[1]);
  std::uint64_t size = b1 & 0x7F;
  std::size_t header_size = 2;
  if (size == 126) {
    if (data.size() < 4) return false;
    size = (std::uint64_t{static_cast<std::uint8_t>(data[2])} << 8) | static_cast<std::uint8_t>(data[3]);
    header_size = 4;
  } else if (size == 127) {
    if (data.size() < 10) return false;
    size = 0;
    for (int k = 2; k < 10; ++k) size = (size << 8) | static_cast<std::uint8_t>(data[k]);
    header_size = 10;
    if (size >> 63) fail("frame length has its most significant bit set");
  }
  const auto opcode = static_cast<Opcode>(b0 & 0x0F);
  const bool fin = b0 & 0x80;
  const bool rsv1 = b0 & 0x40;
  const bool control = b0 & 0x08;
  if (b1 & 0x80) fail("the server sent a masked frame");
  if (b0 & 0x30) fail("reserved bits RSV2/RSV3 set (no extension uses them)");
  switch (opcode) {
    case Opcode::Continuation: case Opcode::Text: case Opcode::Binary:
    case Opcode::Close: case Opcode::Ping: case Opcode::Pong:
      break;
    default:
      fail("unknown opcode " + std::to_string(b0 & 0x0F));
  }
  if (control) {
    if (!fin) fail("fragmented control frame (opcode " + std::to_string(b0 & 0x0F) + ")");
    if (size > 125) fail("control frame of " + std::to_string(size) + " bytes (at most 125)");
    if (rsv1) fail("RSV1 set on a control frame");
  } else {
    if (opcode == Opcode::Continuation) {
      if (!in_message_) fail("continuation frame without a message being fragmented");
      if (rsv1) fail("RSV1 set on a continuation frame");
    } else if (in_message_) {
      fail("a new data frame arrived inside a fragmented message");
    }
    if (rsv1 && !inflater_) fail("RSV1 set but permessage-deflate was not negotiated");
    // Compressed or not, a frame larger than the whole limit is refused before buffering it.
    const std::size_t so_far = (opcode == Opcode::Continuation && !message_compressed_) ? message_.size() : 0;
    if (size > max_size_ - std::min(so_far, max_size_)) {
      fail("message larger than max_size (" + std::to_string(max_size_) + " bytes)", ProtocolError::kMessageTooBig);
    }
  }
  header = Header{fin, rsv1, opcode, header_size, size};
  return true;
}

bool WsReader::on_data_frame(const Header& header, std::string_view payload) {
  if (header.opcode != Opcode::Continuation) {
    in_message_ = true;
    message_opcode_ = header.opcode;
    message_compressed_ = header.rsv1;
    message_.clear();
  }
  if (message_compressed_) {
    inflate_into(payload, message_);
    if (header.fin) {
      inflate_into(std::string_view(kTail, sizeof kTail), message_);
      if (no_context_takeover_) inflateReset(&inflater_->stream);
    }
  } else {
    message_.append(payload);
  }
  if (!header.fin) return false;
  in_message_ = false;
  if (message_opcode_ == Opcode::Text && !valid_utf8(message_)) {
    fail("invalid UTF-8 in a text message", ProtocolError::kInvalidData);
  }
  return true;
}

void WsReader::inflate_into(std::string_view input, std::string& out) {
  z_stream& zs = inflater_->stream;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  do {
    const std::size_t before = out.size();
    const std::size_t room = std::max<std::size_t>(input.size() * 4, 4096);
    out.resize(before + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_SYNC_FLUSH);
    out.resize(before + room - zs.avail_out);
    if (rc == Z_STREAM_END) {
      inflateReset(&zs);  // the server ended its deflate stream; what follows starts afresh
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      fail(std::string("bad compressed data: ") + (zs.msg ? zs.msg : "inflate error " + std::to_string(rc)));
    }
    if (out.size() > max_size_) {
      fail("message larger than max_size (" + std::to_string(max_size_) + " bytes) once inflated",
           ProtocolError::kMessageTooBig);
    }
    if (rc == Z_BUF_ERROR) break;  // no progress possible: the input is used up
    // A full output buffer may leave output inside zlib: go round until it had room to spare.
  } while (zs.avail_in > 0 || zs.avail_out == 0);
}

void WsReader::check_close(std::string_view payload) {
  if (payload.size() == 1) fail("close frame with a 1-byte payload (a code takes 2)");
  if (payload.size() > 2 && !valid_utf8(payload.substr(2))) {
    fail("invalid UTF-8 in a close reason", ProtocolError::kInvalidData);
  }
}

}  // namespace tradecore::ws
