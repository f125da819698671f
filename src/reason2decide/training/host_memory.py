"""What the C allocator does with memory that a training step frees.

A training step on a CPU allocates and frees the same large tensors (activations, gradients,
logits: megabytes each) every step. glibc's malloc hands blocks above a threshold back to the
system when they are freed, and trims the top of its heap; the next step then takes page faults
on fresh pages and the kernel zeroes them again. Keeping freed memory in the process instead
made a training step 5-10 % faster on the 2-core EPYC (t5-small shape, batch 8 × 256 tokens:
Stage 1 fp32 3.0 → 2.9 s, SFT bf16 1.4 → 1.25 s), with a peak resident set within 0.1 GiB of
the default's; numbers are unchanged (only where memory comes from differs).

The setting holds for the rest of the process once taken, which suits a training process; it
is not used for serving.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

#: mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: the largest trim threshold mallopt takes (an int): freed memory at the heap's top stays
_NEVER_TRIM = 2**31 - 1

HOST_MEMORY = ("keep", "return")


def keep_freed_memory() -> bool:
    """Make glibc's malloc serve every block from its heap and keep freed memory for reuse
    (no ``mmap`` per large block, no trimming). Returns whether that took effect: False where
    the C library is not glibc (macOS, musl), and nothing changes there."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; both must hold for the effect described above
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))
