#pragma once
// One register_<domain>() per binding file; module.cpp calls them all.
#include <pybind11/pybind11.h>

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
}  // namespace tradecore::bindings
