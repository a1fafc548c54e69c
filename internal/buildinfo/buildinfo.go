// Package buildinfo holds the version stamped into the binary at link time.
package buildinfo

import "runtime/debug"

// Version is set with -ldflags "-X github.com/lanyard-id/lanyard/internal/buildinfo.Version=v1.2.3".
var Version = "dev"

// Revision is the commit, set with -ldflags "-X ...buildinfo.Revision=<sha>"
// where the build has no VCS data (container builds).
var Revision = ""

// Commit returns the commit of this build: Revision when set, else the VCS
// revision recorded by the Go toolchain, else "unknown".
func Commit() string {
	if Revision != "" {
		return Revision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
