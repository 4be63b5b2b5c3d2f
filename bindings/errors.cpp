#include <pybind11/pybind11.h>

#include "register.hpp"
#include "tradecore/error.hpp"

namespace py = pybind11;

namespace tradecore::bindings {

PyObject* new_exception(py::module_& m, const std::string& qualified_name, PyObject* base, const char* doc) {
  PyObject* type = PyErr_NewExceptionWithDoc(qualified_name.c_str(), doc, base, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.attr(qualified_name.substr(qualified_name.rfind('.') + 1).c_str()) = py::handle(type);
  return type;
}

namespace {
PyObject* g_error = nullptr;
PyObject* g_data_error = nullptr;
PyObject* g_config_error = nullptr;
PyObject* g_strategy_error = nullptr;
}  // namespace

void register_errors(py::module_& m) {
  g_error = new_exception(m, "tradecore.errors.Error", PyExc_Exception, "Base of every tradecore error.");
  PyObject* data_bases = PyTuple_Pack(2, g_error, PyExc_ValueError);
  g_data_error = new_exception(m, "tradecore.errors.DataError", data_bases,
                               "Bad market data. `row` is the index of the offending element in "
                               "the batch (-1 for single events).");
  Py_DECREF(data_bases);
  PyObject* config_bases = PyTuple_Pack(2, g_error, PyExc_ValueError);
  g_config_error = new_exception(m, "tradecore.errors.ConfigError", config_bases, "Invalid configuration.");
  Py_DECREF(config_bases);
  g_strategy_error = new_exception(m, "tradecore.errors.StrategyError", g_error,
                                   "A strategy raised or a guard saw NaN; its symbol's engine stopped.");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const DataError& e) {
      // Keep the row on the exception object so callers can resume after it.
      py::object exc = py::reinterpret_borrow<py::object>(g_data_error)(e.what());
      exc.attr("row") = e.row();
      PyErr_SetObject(g_data_error, exc.ptr());
    } catch (const StrategyError& e) {
      PyErr_SetString(g_strategy_error, e.what());
    } catch (const ConfigError& e) {
      PyErr_SetString(g_config_error, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace tradecore::bindings
