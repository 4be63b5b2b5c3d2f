#include "register.hpp"
namespace tradecore::bindings {
void register_bars(pybind11::module_&) {}
}
