#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>

#include "arrays.hpp"
#include "register.hpp"
#include "tradecore/schema.hpp"

namespace py = pybind11;

namespace tradecore::bindings {

namespace {

/// MarketBook's per-symbol arrays: one row per symbol.
struct BookRows {
  Column<double> bid, ask, last;
  Column<std::int64_t> ts;
  Column<std::int8_t> state;
  Column<bool> fresh;
};

/// Fold the last event of each group `indices` of a frame into its symbol's row (the row of its
/// instrument id); `newest[g]` = the newest book time of the folded groups up to group g (0
/// before the first). False, having changed nothing, when Python must: an id without a row yet,
/// or a quote frame whose last quote of a group lacks a side (the book looks further back).
template <class T>
bool fold(const py::array& events, const Column<std::int64_t>& cuts, const Column<std::int64_t>& indices,
          const Column<std::int64_t>& ids, const Column<std::int64_t>& row_of_id, BookRows& book,
          Column<std::int64_t>& newest) {
  if (!is_event_array<T>(events))
    throw py::type_error("fold_frame: events must be a C-contiguous array of the kind's dtype");
  const auto groups = ids.size();
  if (cuts.size() != groups + 1 || newest.size() != groups)
    throw py::value_error("fold_frame: cuts must hold one entry more than ids, newest as many");
  const auto rows = book.bid.size();
  if (book.ask.size() != rows || book.last.size() != rows || book.ts.size() != rows || book.state.size() != rows ||
      book.fresh.size() != rows)
    throw py::value_error("fold_frame: the book's columns differ in length");
  const T* data = static_cast<const T*>(events.data());
  const std::int64_t* cut = cuts.data();
  const std::int64_t* index = indices.data();
  const std::int64_t* id = ids.data();
  const std::int64_t* row_of = row_of_id.data();
  const auto count = indices.size();
  const auto size = static_cast<std::int64_t>(events.shape(0));
  // First every check, so that a refusal changes nothing.
  for (py::ssize_t k = 0; k < count; ++k) {
    const std::int64_t g = index[k];
    if (g < 0 || g >= groups || (k > 0 && g <= index[k - 1]))
      throw py::value_error("fold_frame: indices must be ascending group numbers");
    if (cut[g + 1] <= cut[g] || cut[g + 1] > size) throw py::value_error("fold_frame: cuts out of order or range");
    if (id[g] < 0 || id[g] >= row_of_id.size() || row_of[id[g]] < 0 || row_of[id[g]] >= rows) return false;
    if constexpr (std::is_same_v<T, Quote>) {
      const Quote& q = data[cut[g + 1] - 1];
      if (!(q.bid_price > 0 && q.ask_price > 0)) return false;
    }
  }
  double* bid = book.bid.mutable_data();
  double* ask = book.ask.mutable_data();
  double* last = book.last.mutable_data();
  std::int64_t* ts = book.ts.mutable_data();
  std::int8_t* state = book.state.mutable_data();
  bool* fresh = book.fresh.mutable_data();
  std::int64_t* out = newest.mutable_data();
  std::int64_t running = 0;
  py::ssize_t k = 0;
  for (py::ssize_t g = 0; g < groups; ++g) {
    if (k < count && index[k] == g) {
      const T& e = data[cut[g + 1] - 1];
      const std::int64_t r = row_of[id[g]];
      if constexpr (std::is_same_v<T, Trade>) last[r] = e.price;
      else if constexpr (std::is_same_v<T, Quote>) bid[r] = e.bid_price, ask[r] = e.ask_price;
      else state[r] = static_cast<std::int8_t>(e.state);
      ts[r] = std::max(ts[r], e.ts_event);
      fresh[r] = false;
      running = std::max(running, ts[r]);
      ++k;
    }
    out[g] = running;
  }
  return true;
}

}  // namespace

void register_book(py::module_& m) {
  m.def(
      "fold_frame",
      [](int kind, const py::array& events, const Column<std::int64_t>& cuts, const Column<std::int64_t>& indices,
         const Column<std::int64_t>& ids, const Column<std::int64_t>& row_of_id, Column<double> bid,
         Column<double> ask, Column<double> last, Column<std::int64_t> ts, Column<std::int8_t> state,
         Column<bool> fresh, Column<std::int64_t> newest) {
        BookRows book{std::move(bid), std::move(ask), std::move(last), std::move(ts), std::move(state), std::move(fresh)};
        switch (kind) {
          case 0: return fold<Trade>(events, cuts, indices, ids, row_of_id, book, newest);
          case 1: return fold<Quote>(events, cuts, indices, ids, row_of_id, book, newest);
          case 3: return fold<Status>(events, cuts, indices, ids, row_of_id, book, newest);
          default: throw py::value_error("fold_frame: kind must be 0 (trades), 1 (quotes) or 3 (statuses)");
        }
      },
      py::arg("kind"), py::arg("events"), py::arg("cuts"), py::arg("indices"), py::arg("ids"), py::arg("row_of_id"),
      // Written into: the caller's own arrays or a TypeError, never a converted copy.
      py::arg("bid").noconvert(), py::arg("ask").noconvert(), py::arg("last").noconvert(), py::arg("ts").noconvert(),
      py::arg("state").noconvert(), py::arg("fresh").noconvert(), py::arg("newest").noconvert(),
      "Fold the last event of each group ``indices`` (ascending) of a frame into the book's row of its instrument "
      "id (``row_of_id[ids[g]]``): the last trade price, both sides of the quote, or the trading state; the row's "
      "time becomes the later of its own and the event's, and its snapshot stale (``fresh`` False). "
      "``newest[g]``: the newest row time of the folded groups up to group g (0 before the first). False, with "
      "nothing changed, when an id has no row or a group's last quote lacks a side. Kinds: 0 trades, 1 quotes, "
      "3 statuses (as run_groups). The book's columns and ``newest`` must be C-contiguous arrays of their exact "
      "dtypes (float64, int64, int8, bool): they are written in place.");
}

}  // namespace tradecore::bindings
