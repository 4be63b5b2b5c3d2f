"""Import the compiled core once, with a message that says how to build it when it is missing."""

from __future__ import annotations

try:
    from tradecore import _core
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "tradecore's native module tradecore._core is not built or does not load "
        f"({exc}). Build and install it with `pip install .` from the repository root "
        "(needs a C++20 compiler and CMake), and do not import tradecore from inside the "
        "source tree's python/ folder."
    ) from exc

__all__ = ["_core"]
