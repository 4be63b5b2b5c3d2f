#include <pybind11/pybind11.h>

#include <string_view>

#include "register.hpp"
#include "tradecore/ws_reader.hpp"

namespace py = pybind11;
using tradecore::ws::Opcode;
using tradecore::ws::WsReader;

namespace tradecore::bindings {

namespace {
PyObject* g_ws_protocol_error = nullptr;  // lives as long as the interpreter (see new_exception)

/// One (opcode, payload) per message: text as str (the reader checked its UTF-8), the rest bytes.
py::list feed(WsReader& self, const py::bytes& data) {
  py::list messages;
  char* buffer = nullptr;
  Py_ssize_t size = 0;
  PyBytes_AsStringAndSize(data.ptr(), &buffer, &size);
  try {
    self.feed(std::string_view(buffer, static_cast<std::size_t>(size)), [&](Opcode op, std::string_view payload) {
      PyObject* value = op == Opcode::Text
                            ? PyUnicode_DecodeUTF8(payload.data(), static_cast<Py_ssize_t>(payload.size()), nullptr)
                            : PyBytes_FromStringAndSize(payload.data(), static_cast<Py_ssize_t>(payload.size()));
      if (value == nullptr) throw py::error_already_set();
      messages.append(py::make_tuple(static_cast<int>(op), py::reinterpret_steal<py::object>(value)));
    });
  } catch (const ws::ProtocolError& e) {
    // The messages completed before the violation travel with the error: nothing is lost.
    py::object exc = py::reinterpret_borrow<py::object>(g_ws_protocol_error)(e.what());
    exc.attr("messages") = messages;
    exc.attr("close_code") = e.close_code();
    PyErr_SetObject(g_ws_protocol_error, exc.ptr());
    throw py::error_already_set();
  }
  return messages;
}
}  // namespace

void register_ws(py::module_& m, py::handle error_base) {
  g_ws_protocol_error = new_exception(
      m, "tradecore.streams.native_ws.WebSocketProtocolError", error_base.ptr(),
      "The server broke the WebSocket protocol (or sent a message above max_size); the "
      "connection must be dropped. `messages` holds the (opcode, payload) pairs completed in the "
      "same chunk before the violation; `close_code` the code to close with (RFC 6455 7.4.1: 1007 "
      "for text that is not UTF-8, 1009 for a message too big, else 1002).");

  py::class_<WsReader>(m, "WsReader",
                       "The receive side of a WebSocket client: server bytes in, messages out.\n\n"
                       "``compressed``, ``no_context_takeover`` and ``max_window_bits`` are the\n"
                       "permessage-deflate parameters the handshake negotiated for the server.")
      .def(py::init<std::size_t, bool, bool, int>(), py::arg("max_size"), py::arg("compressed") = false,
           py::arg("no_context_takeover") = false, py::arg("max_window_bits") = 15)
      .def("feed", &feed, py::arg("data"),
           "Consume bytes from the server; return the completed messages and control frames as\n"
           "(opcode, payload) in order: text str, binary/close/ping/pong bytes. Raises\n"
           "WebSocketProtocolError (with .messages) on a violation; the reader is unusable after.");
  m.attr("OP_TEXT") = static_cast<int>(Opcode::Text);
  m.attr("OP_BINARY") = static_cast<int>(Opcode::Binary);
  m.attr("OP_CLOSE") = static_cast<int>(Opcode::Close);
  m.attr("OP_PING") = static_cast<int>(Opcode::Ping);
  m.attr("OP_PONG") = static_cast<int>(Opcode::Pong);
}

}  // namespace tradecore::bindings
