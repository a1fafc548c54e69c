//go:build !linux

package hook

import "time"

// threadClock: no per-thread CPU clock here; the guard uses wall time.
func threadClock() func() (time.Duration, bool) { return nil }
