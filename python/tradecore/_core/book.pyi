"""
The execution layer's book of per-symbol market values
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['fold_frame']
def fold_frame(kind: typing.SupportsInt | typing.SupportsIndex, events: numpy.ndarray, cuts: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], indices: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], ids: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], row_of_id: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], bid: numpy.typing.NDArray[numpy.float64], ask: numpy.typing.NDArray[numpy.float64], last: numpy.typing.NDArray[numpy.float64], ts: numpy.typing.NDArray[numpy.int64], state: numpy.typing.NDArray[numpy.int8], fresh: numpy.typing.NDArray[numpy.void], newest: numpy.typing.NDArray[numpy.int64]) -> bool:
    """
    Fold the last event of each group ``indices`` (ascending) of a frame into the book's row of its instrument id (``row_of_id[ids[g]]``): the last trade price, both sides of the quote, or the trading state; the row's time becomes the later of its own and the event's, and its snapshot stale (``fresh`` False). ``newest[g]``: the newest row time of the folded groups up to group g (0 before the first). False, with nothing changed, when an id has no row or a group's last quote lacks a side. Kinds: 0 trades, 1 quotes, 3 statuses (as run_groups). The book's columns and ``newest`` must be C-contiguous arrays of their exact dtypes (float64, int64, int8, bool): they are written in place.
    """
