package hook

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadClock returns a reader of the calling thread's CPU time that works
// from any thread of the process: the clock id of a thread is
// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) of the kernel's POSIX CPU
// timers, what pthread_getcpuclockid(3) returns.
func threadClock() func() (time.Duration, bool) {
	tid := unix.Gettid()
	id := int32(^uint32(tid)<<3 | 6)
	return func() (time.Duration, bool) {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			return 0, false
		}
		return time.Duration(ts.Nano()), true
	}
}
