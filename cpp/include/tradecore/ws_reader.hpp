#pragma once
/// The receive side of a WebSocket client (RFC 6455) with permessage-deflate (RFC 7692):
/// bytes from the server in, whole messages and control frames out, in order.
///
/// Sans-I/O: the caller owns the socket and the handshake (which negotiated the extension's
/// parameters); the reader only frames, reassembles, inflates and validates. The first
/// protocol violation throws ws::ProtocolError, and the reader refuses any further input: the
/// connection must be dropped.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tradecore/error.hpp"

namespace tradecore::ws {

enum class Opcode : std::uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

/// The server broke the protocol (or sent more than max_size): drop the connection, closing
/// with `close_code()` (RFC 6455 7.4.1: 1007 for text that is not UTF-8, 1009 for a message too
/// big, else 1002).
class ProtocolError : public Error {
 public:
  static constexpr int kProtocolError = 1002;
  static constexpr int kInvalidData = 1007;
  static constexpr int kMessageTooBig = 1009;
  explicit ProtocolError(const std::string& what, int close_code = kProtocolError)
      : Error(what), close_code_(close_code) {}
  int close_code() const noexcept { return close_code_; }

 private:
  int close_code_;
};

/// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view text) noexcept;

class WsReader {
 public:
  /// `max_size`: the largest message (after inflating) accepted; `compressed`: the server
  /// agreed to permessage-deflate with `no_context_takeover` (server_no_context_takeover) and
  /// `max_window_bits` (server_max_window_bits, 8..15).
  explicit WsReader(std::size_t max_size, bool compressed = false, bool no_context_takeover = false,
                    int max_window_bits = 15);
  ~WsReader();
  WsReader(const WsReader&) = delete;
  WsReader& operator=(const WsReader&) = delete;

  /// Consume `data` (any split of the byte stream) and call `sink(Opcode, std::string_view)`
  /// for each complete data message (Text or Binary, reassembled and inflated) and each control
  /// frame, in order. The view is valid during the call only. Messages completed before a
  /// violation in the same chunk have been passed to `sink` when ProtocolError is thrown.
  template <class Sink>
  void feed(std::string_view data, Sink&& sink);

  bool failed() const noexcept { return failed_; }

 private:
  struct Header {
    bool fin;
    bool rsv1;
    Opcode opcode;
    std::size_t header_size;
    std::uint64_t payload_size;
  };
  /// Parse and check a frame header at the start of `data`; false if incomplete.
  bool parse_header(std::string_view data, Header& header);
  /// Handle one whole data frame's payload; true when it completed a message (in message_).
  bool on_data_frame(const Header& header, std::string_view payload);
  void check_close(std::string_view payload);
  void inflate_into(std::string_view input, std::string& out);
  [[noreturn]] void fail(const std::string& what, int close_code = ProtocolError::kProtocolError);

  std::size_t max_size_;
  bool no_context_takeover_;
  bool failed_ = false;

  std::string pending_;          // bytes of an incomplete frame, kept between feed() calls
  bool in_message_ = false;      // a fragmented message is being assembled
  bool message_compressed_ = false;
  Opcode message_opcode_ = Opcode::Binary;
  std::string message_;          // the message being assembled (inflated)

  struct Inflater;
  std::unique_ptr<Inflater> inflater_;  // set when permessage-deflate was negotiated
};

template <class Sink>
void WsReader::feed(std::string_view data, Sink&& sink) {
  if (failed_) throw ProtocolError("the WebSocket reader failed earlier: drop the connection");
  // Parse straight from `data` while no partial frame is kept; copy only what is left over.
  std::string_view input = data;
  bool from_pending = !pending_.empty();
  if (from_pending) {
    pending_.append(data);
    input = pending_;
  }
  std::size_t used = 0;
  Header header{};
  try {
    while (parse_header(input.substr(used), header)) {
    const std::size_t frame_size = header.header_size + header.payload_size;
    if (input.size() - used < frame_size) break;
    std::string_view payload = input.substr(used + header.header_size, header.payload_size);
    used += frame_size;
    if (static_cast<std::uint8_t>(header.opcode) & 0x8) {
      if (header.opcode == Opcode::Close) check_close(payload);
      sink(header.opcode, payload);
    } else if (on_data_frame(header, payload)) {
      sink(message_opcode_, std::string_view(message_));
    }
    }
  } catch (...) {
    failed_ = true;  // a violation, or the sink failed: where the stream stands is unknown
    throw;
  }
  if (from_pending) {
    pending_.erase(0, used);
  } else {
    pending_.assign(input.substr(used));
  }
}

}  // namespace tradecore::ws
