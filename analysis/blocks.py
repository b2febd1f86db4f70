"""Per-sample steps over session-long series a block of rows at a time.

A per-sample closed form (a quaternion product, a few matrix elements, an interpolation) is a chain of
numpy operations, each of which writes a temporary as long as its input. Over an hour of 100 Hz samples
every temporary is megabytes, so the chain runs at the speed of memory; over a few thousand rows the
temporaries stay in the core's cache and the same chain runs about twice as fast. The results are the
same to the bit: every row is computed by the same operations, only fewer rows at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Rows per block: a block's temporaries (64 kB per float column) stay in a core's L2 cache, and a block is
#: long enough that numpy's fixed cost per call is small beside the arithmetic.
BLOCK_ROWS = 8192


def row_blocks(n: int) -> Iterator[slice]:
    """Slices of at most `BLOCK_ROWS` rows that cover ``range(n)`` in order."""
    return (slice(i, min(i + BLOCK_ROWS, n)) for i in range(0, n, BLOCK_ROWS))


def row_norms(x: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of an ``(n, k)`` array, as ``numpy.linalg.norm(x, axis=1)`` (the same sum in
    the same order, so equal to the bit), a block of rows at a time: numpy's reduction over rows of a few
    values is several times slower than these column operations."""
    out = np.empty(len(x))
    for rows in row_blocks(len(x)):
        columns = x[rows].T
        total = columns[0] * columns[0]
        for column in columns[1:]:
            total += column * column
        np.sqrt(total, out=out[rows])
    return out
