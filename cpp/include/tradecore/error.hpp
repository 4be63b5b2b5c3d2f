#pragma once
/// The one error tree of tradecore. Bindings map each type to a Python exception of the same
/// name in tradecore.errors (Error -> DataError, ConfigError).
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tradecore {

/// Base of every error raised by the core.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad market data: NaN or non-positive prices, negative sizes, time going backwards, ...
/// `row` is the index of the offending element in the batch being processed (-1 when the
/// data came in one event at a time).
class DataError : public Error {
 public:
  DataError(const std::string& message, std::int64_t row = -1)
      : Error(row >= 0 ? "row " + std::to_string(row) + ": " + message : message), row_(row) {}
  std::int64_t row() const noexcept { return row_; }

 private:
  std::int64_t row_;
};

/// Invalid configuration: a zero period, an unknown policy, inconsistent parameters.
class ConfigError : public Error {
 public:
  using Error::Error;
};

}  // namespace tradecore

namespace tradecore {

/// A strategy failed (threw, or a guard saw NaN). The symbol's engine stops; others go on.
class StrategyError : public Error {
 public:
  using Error::Error;
};

}  // namespace tradecore
