// Package buildinfo holds the version stamped into the binary at link time.
package buildinfo

import "runtime/debug"

// Version is set with -ldflags "-X github.com/lanyard-id/lanyard/internal/buildinfo.Version=v1.2.3".
var Version = "dev"

// Commit returns the VCS revision recorded by the Go toolchain, or "unknown".
func Commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
