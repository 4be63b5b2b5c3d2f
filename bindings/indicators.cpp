#include "register.hpp"
namespace tradecore::bindings {
void register_indicators(pybind11::module_&) {}
}
