package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/identity"
)

func identitiesCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "identities",
		Short: "Import and export a project's identities as JSONL (operator commands)",
	}
	cmd.AddCommand(identitiesImportCmd(e), identitiesExportCmd(e))
	return cmd
}

func identitiesImportCmd(e *env) *cobra.Command {
	var slug string
	var batch int
	cmd := &cobra.Command{
		Use:   "import --project SLUG FILE.jsonl",
		Short: "Import identities from JSONL ('-' for stdin); hashed passwords are kept, clear ones hashed",
		Long: `Each line is an identity as 'identities export' writes it, or a Kratos
createIdentityBody. Lines are streamed and stored in batches; a bad line is
reported by number and the import goes on. The command fails (exit 1) when
any line failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, size, closeIn, err := openInput(args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			a, err := openForCLI(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer a.Close()
			p, err := a.deps.Registry.BySlug(cmd.Context(), slug)
			if err != nil {
				return fmt.Errorf("--project %s: %w", slug, err)
			}
			bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
				progressbar.OptionSetDescription("importing"), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
			start := time.Now()
			res, err := a.deps.Identities.Import(cmd.Context(), p, in, identity.ImportOptions{
				BatchSize: batch,
				Actor:     identity.Actor{Name: "cli"},
				Progress: func(read int64, imported, failed int) {
					bar.Describe(fmt.Sprintf("imported %d, failed %d", imported, failed))
					_ = bar.Set64(read)
				},
			})
			_ = bar.Finish()
			for _, f := range res.Failed {
				fmt.Fprintf(e.stderr, "line %d: %s\n", f.Line, f.Err)
			}
			el := time.Since(start)
			fmt.Fprintf(e.stdout, "Imported %d identities into %s in %s (%.0f/s); %d lines failed.\n",
				res.Imported, p.Slug, el.Round(time.Millisecond), float64(res.Imported)/el.Seconds(), len(res.Failed))
			if err != nil {
				return err
			}
			if len(res.Failed) > 0 {
				return fmt.Errorf("%d lines failed (listed above)", len(res.Failed))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&slug, "project", "", "project slug (required)")
	cmd.Flags().IntVar(&batch, "batch", 1000, "identities per COPY transaction")
	_ = cmd.MarkFlagRequired("project")
	return cmd
}

func identitiesExportCmd(e *env) *cobra.Command {
	var slug, out string
	cmd := &cobra.Command{
		Use:   "export --project SLUG [-o FILE.jsonl]",
		Short: "Export every identity with credentials (hashes included) and addresses as JSONL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openForCLI(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer a.Close()
			p, err := a.deps.Registry.BySlug(cmd.Context(), slug)
			if err != nil {
				return fmt.Errorf("--project %s: %w", slug, err)
			}
			var w io.Writer = e.stdout
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("exporting"),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
			n, err := a.deps.Identities.Export(cmd.Context(), p, w, a.cfg.ProjectURL(p.Slug), func(n int) { _ = bar.Set64(int64(n)) })
			_ = bar.Finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "Exported %d identities of %s.\n", n, p.Slug)
			return nil
		},
	}
	cmd.Flags().StringVar(&slug, "project", "", "project slug (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (default stdout); it holds password hashes, keep it safe")
	_ = cmd.MarkFlagRequired("project")
	return cmd
}

func openInput(path string) (io.Reader, int64, func(), error) {
	if path == "-" {
		return bufio.NewReader(os.Stdin), -1, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	return f, st.Size(), func() { f.Close() }, nil
}
