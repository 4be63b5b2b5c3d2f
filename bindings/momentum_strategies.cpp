// Python bindings of the built-in momentum strategies (tradecore._core.engine): premarket_momentum
// and vwap_reclaim. Thin: parameters, constructors and read-only state; behaviour, units and
// validation live in cpp/include/tradecore/strategies/*.hpp.
//
// Relies on register_engine() having registered Strategy (with py::smart_holder) and Sizing in
// the same module first; VWAPAnchor comes from the indicators submodule.
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "register.hpp"
#include "tradecore/strategies/premarket_momentum.hpp"
#include "tradecore/strategies/vwap_reclaim.hpp"

namespace py = pybind11;
using namespace tradecore::strategies;

namespace tradecore::bindings {

namespace {

/// `Params(field=value, ...)`: start from the C++ defaults and set each keyword through the
/// bound attribute, so an unknown field raises AttributeError and a wrong type TypeError.
template <class P>
P from_keywords(const py::kwargs& kwargs) {
  P params;
  py::object view = py::cast(&params, py::return_value_policy::reference);
  for (const auto& item : kwargs) py::setattr(view, item.first, item.second);
  return params;
}

/// `Params(a=1, b=2.0, ...)` over the bound fields, in declaration order.
template <class P>
void add_repr(py::class_<P>& cls, const char* name, std::vector<const char*> fields) {
  cls.def("__repr__", [name, fields](py::object self) {
    std::string s = std::string(name) + "(";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i) s += ", ";
      s += std::string(fields[i]) + "=" + py::repr(self.attr(fields[i])).cast<std::string>();
    }
    return s + ")";
  });
}

}  // namespace

void register_momentum_strategies(py::module_& m) {
  py::enum_<EntryMode>(m, "EntryMode", "How premarket_momentum enters once armed.")
      .value("PREMARKET_HIGH_BREAK", EntryMode::PremarketHighBreak)
      .value("VWAP_RECLAIM", EntryMode::VwapReclaim);
  py::enum_<StopMode>(m, "StopMode", "Where premarket_momentum puts its stop.")
      .value("PULLBACK_LOW", StopMode::PullbackLow)
      .value("FIXED_PERCENT", StopMode::FixedPercent);
  py::enum_<EntryOrder>(m, "EntryOrder", "The order type of premarket_momentum's entry intent.")
      .value("MARKET", EntryOrder::Market)
      .value("MARKETABLE_LIMIT", EntryOrder::MarketableLimit);
  py::enum_<PullbackTo>(m, "PullbackTo", "The level a vwap_reclaim pullback has to reach.")
      .value("VWAP", PullbackTo::Vwap)
      .value("LOWER_BAND", PullbackTo::LowerBand);
  py::enum_<TargetMode>(m, "TargetMode", "vwap_reclaim's profit target.")
      .value("UPPER_BAND", TargetMode::UpperBand)
      .value("R_MULTIPLE", TargetMode::RMultiple);

  using PMP = PremarketMomentumParams;
  py::class_<PMP> pm_params(m, "PremarketMomentumParams",
                            "premarket_momentum parameters. Prices in dollars, percentages in percent "
                            "(20 = 20 %), times of day in minutes after New York midnight.");
  pm_params.def(py::init(&from_keywords<PMP>))
      .def_readwrite("prior_close", &PMP::prior_close)
      .def_readwrite("min_gap_percent", &PMP::min_gap_percent)
      .def_readwrite("min_relative_volume", &PMP::min_relative_volume)
      .def_readwrite("relative_volume_sessions", &PMP::relative_volume_sessions)
      .def_readwrite("max_spread", &PMP::max_spread)
      .def_readwrite("entry_mode", &PMP::entry_mode)
      .def_readwrite("stop_mode", &PMP::stop_mode)
      .def_readwrite("pullback_bars", &PMP::pullback_bars)
      .def_readwrite("stop_percent", &PMP::stop_percent)
      .def_readwrite("target_percent", &PMP::target_percent)
      .def_readwrite("trailing_stop_percent", &PMP::trailing_stop_percent)
      .def_readwrite("exit_on_vwap_loss", &PMP::exit_on_vwap_loss)
      .def_readwrite("max_minutes_in_trade", &PMP::max_minutes_in_trade)
      .def_readwrite("entry_until_minutes", &PMP::entry_until_minutes)
      .def_readwrite("flat_by_minutes", &PMP::flat_by_minutes)
      .def_readwrite("cooldown_minutes", &PMP::cooldown_minutes)
      .def_readwrite("sizing", &PMP::sizing)
      .def_readwrite("quantity", &PMP::quantity)
      .def_readwrite("entry_order", &PMP::entry_order)
      .def_readwrite("limit_offset", &PMP::limit_offset);
  add_repr(pm_params, "PremarketMomentumParams",
           {"prior_close", "min_gap_percent", "min_relative_volume", "relative_volume_sessions", "max_spread",
            "entry_mode", "stop_mode", "pullback_bars", "stop_percent", "target_percent", "trailing_stop_percent",
            "exit_on_vwap_loss", "max_minutes_in_trade", "entry_until_minutes", "flat_by_minutes",
            "cooldown_minutes", "sizing", "quantity", "entry_order", "limit_offset"});

  py::class_<PremarketMomentum, Strategy, py::smart_holder>(m, "PremarketMomentum")
      .def(py::init<const PMP&>(), py::arg("params"))
      .def_property_readonly("params", &PremarketMomentum::params)
      .def_property_readonly("premarket_high", &PremarketMomentum::premarket_high)
      .def_property_readonly("vwap", &PremarketMomentum::vwap)
      .def_property_readonly("relative_volume", &PremarketMomentum::relative_volume)
      .def_property_readonly("spread", &PremarketMomentum::spread)
      .def_property_readonly("stop", &PremarketMomentum::stop)
      .def_property_readonly("target", &PremarketMomentum::target)
      .def_property_readonly("entry_price", &PremarketMomentum::entry_price);

  using VRP = VwapReclaimParams;
  py::class_<VRP> vr_params(m, "VwapReclaimParams",
                            "vwap_reclaim parameters. Prices in dollars, bands in standard deviations, "
                            "the target in R multiples.");
  vr_params.def(py::init(&from_keywords<VRP>))
      .def_readwrite("anchor", &VRP::anchor)
      .def_readwrite("band_multiplier", &VRP::band_multiplier)
      .def_readwrite("trend_bars", &VRP::trend_bars)
      .def_readwrite("pullback_to", &VRP::pullback_to)
      .def_readwrite("max_pullback_bars", &VRP::max_pullback_bars)
      .def_readwrite("volume_confirmation", &VRP::volume_confirmation)
      .def_readwrite("volume_period", &VRP::volume_period)
      .def_readwrite("volume_factor", &VRP::volume_factor)
      .def_readwrite("stop_offset", &VRP::stop_offset)
      .def_readwrite("target_mode", &VRP::target_mode)
      .def_readwrite("target_r", &VRP::target_r)
      .def_readwrite("exit_on_vwap_loss", &VRP::exit_on_vwap_loss)
      .def_readwrite("sizing", &VRP::sizing)
      .def_readwrite("quantity", &VRP::quantity);
  add_repr(vr_params, "VwapReclaimParams",
           {"anchor", "band_multiplier", "trend_bars", "pullback_to", "max_pullback_bars", "volume_confirmation",
            "volume_period", "volume_factor", "stop_offset", "target_mode", "target_r", "exit_on_vwap_loss",
            "sizing", "quantity"});

  py::class_<VwapReclaim, Strategy, py::smart_holder>(m, "VwapReclaim")
      .def(py::init<const VRP&>(), py::arg("params") = VRP{})
      .def_property_readonly("params", &VwapReclaim::params)
      .def_property_readonly("vwap", &VwapReclaim::vwap)
      .def_property_readonly("upper_band", &VwapReclaim::upper_band)
      .def_property_readonly("lower_band", &VwapReclaim::lower_band)
      .def_property_readonly("bars_above", &VwapReclaim::bars_above)
      .def_property_readonly("pullback_low", &VwapReclaim::pullback_low)
      .def_property_readonly("stop", &VwapReclaim::stop)
      .def_property_readonly("entry_price", &VwapReclaim::entry_price);
}

}  // namespace tradecore::bindings
