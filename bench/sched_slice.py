"""Sets a custom EEVDF slice (Linux >= 6.12) on the threads of a process whose name starts with a prefix.

    python3 bench/sched_slice.py PID SLICE_NS NAME_PREFIX    # e.g. 100000 vert.x-eventloo; 0 restores the default

A task with a shorter slice than the running one preempts it when it wakes (PREEMPT_SHORT), instead of
waiting for the running task's slice or the next tick. bench/ab.sh's SLICE_US= uses it on Tollgate's event
loops to test whether the 1-connection tail is PostgreSQL's batches running unpreempted on the gateway's core.
"""
import ctypes
import os
import struct
import sys

SYS_SCHED_SETATTR, SYS_SCHED_GETATTR = 314, 315  # x86_64
ATTR = "IIQiIQQQII"  # struct sched_attr: size, policy, flags, nice, priority, runtime (the slice), ...
libc = ctypes.CDLL(None, use_errno=True)


def call(nr, tid, buf, *extra):
    if libc.syscall(nr, tid, buf, *extra) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def slice_of(tid):
    buf = ctypes.create_string_buffer(struct.calcsize(ATTR))
    call(SYS_SCHED_GETATTR, tid, buf, len(buf), 0)
    return struct.unpack(ATTR, buf.raw)[5]


pid, ns, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for tid in sorted(int(t) for t in os.listdir(f"/proc/{pid}/task")):
    with open(f"/proc/{pid}/task/{tid}/comm") as f:
        name = f.read().strip()
    if name.startswith(prefix):
        before = slice_of(tid)
        attr = struct.pack(ATTR, struct.calcsize(ATTR), 0, 0, 0, 0, ns, 0, 0, 0, 0)  # SCHED_OTHER, nice 0
        call(SYS_SCHED_SETATTR, tid, ctypes.create_string_buffer(attr, len(attr)), 0)
        print(f"{tid} {name}: slice {before} -> {slice_of(tid)} ns")
