package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/buildinfo"
	"github.com/lanyard-id/lanyard/internal/config"
)

// env is what every command gets from run: the configuration source and
// the output streams. Nothing reads the process environment directly.
type env struct {
	getenv     func(string) string
	stdout     io.Writer
	stderr     io.Writer
	configPath *string
}

func (e *env) config() (config.Config, error) {
	return config.Load(*e.configPath, e.getenv)
}

// run builds the command tree and executes args.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var configPath string
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr, configPath: &configPath}
	root := &cobra.Command{
		Use:   "lanyard",
		Short: "Lanyard: hosted, multi-tenant identity (Kratos-compatible)",
		Long: `Lanyard serves registration, login, MFA, verification, recovery and settings
for many projects, each with a Kratos v1.x compatible API.

Configuration comes from LANYARD_* environment variables and an optional YAML
file (--config); the environment wins. See the README for every setting.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&configPath, "config", "", "YAML configuration file")
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		serveCmd(e),
		workerCmd(e),
		migrateCmd(e),
		projectCmd(e),
		identitiesCmd(e),
		hooksCmd(e),
		healthcheckCmd(e),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				fmt.Fprintf(e.stdout, "lanyard %s (commit %s, %s)\n", buildinfo.Version, buildinfo.Commit(), runtime.Version())
				return nil
			},
		},
	)
	return root.ExecuteContext(ctx)
}
