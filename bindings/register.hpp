#pragma once
// One register_<domain>() per binding file; module.cpp calls them all.
#include <pybind11/pybind11.h>

#include <string>

namespace tradecore::bindings {
void register_errors(pybind11::module_& m);
void register_schema(pybind11::module_& m);
void register_bars(pybind11::module_& m);
void register_calendar(pybind11::module_& m);
void register_indicators(pybind11::module_& m);
void register_engine(pybind11::module_& m);
void register_momentum_strategies(pybind11::module_& m);
void register_streams(pybind11::module_& m);
void register_ws(pybind11::module_& m, pybind11::handle error_base);
void register_book(pybind11::module_& m);

/// A new exception type named `qualified_name` (its module's dotted path, then its name), set
/// as the attribute of that name on `m`. Exception types live as long as the interpreter: plain
/// handles avoid destructor-order problems at exit.
PyObject* new_exception(pybind11::module_& m, const std::string& qualified_name, PyObject* base, const char* doc);
}  // namespace tradecore::bindings
