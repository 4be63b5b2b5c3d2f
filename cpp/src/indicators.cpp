// Out-of-line pieces of the streaming indicators: the error paths, kept out of the inlined
// update() bodies so the hot code stays small.
#include "tradecore/indicators.hpp"

#include <cstdio>

namespace tradecore::indicators::detail {

void throw_non_finite(const char* indicator, const char* input, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", x);
  throw DataError(std::string(indicator) + ": non-finite " + input + " (" + buf + ")");
}

void throw_data_error(const char* indicator, const std::string& message) {
  throw DataError(std::string(indicator) + ": " + message);
}

void check_period(const char* indicator, const char* name, int period, int minimum) {
  if (period < minimum || period > kMaxPeriod)
    throw ConfigError(std::string(indicator) + ": " + name + " must be in [" + std::to_string(minimum) +
                      ", " + std::to_string(kMaxPeriod) + "], got " + std::to_string(period));
}

}  // namespace tradecore::indicators::detail

namespace tradecore::indicators {

VWAPAnchor parse_vwap_anchor(const std::string& name) {
  if (name == "day") return VWAPAnchor::Day;
  if (name == "regular") return VWAPAnchor::Regular;
  throw ConfigError("VWAP: anchor must be 'day' or 'regular', got '" + name + "'");
}

}  // namespace tradecore::indicators
