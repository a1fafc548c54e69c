package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lanyard-id/lanyard/tenant"
)

func migrateCmd(e *env) *cobra.Command {
	var concurrency int
	var all bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply platform migrations, then tenant migrations to every project schema",
		Long: `Apply platform migrations, then tenant migrations to every project schema.

Safe to run twice at once (an advisory lock serialises runs) and to rerun after
a crash: every schema migrates in its own transaction with its version row, so
a run killed halfway is finished by the next one. Exits non-zero when the
database is unreachable or any schema failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.config()
			if err != nil {
				return err
			}
			log := newLogger(e.stderr, cfg)
			a, err := openApp(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer a.Close()
			pctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			err = a.deps.DB.Platform().Ping(pctx)
			cancel()
			if err != nil && cfg.Mode != "dev" {
				return fmt.Errorf("LANYARD_DATABASE_URL: database unreachable: %w", err)
			}
			start := time.Now()
			p := newProgress(e.stderr)
			res, err := a.migrateAll(cmd.Context(), tenant.MigrateOptions{
				Concurrency: concurrency, All: all, Total: p.total, Progress: p.progress,
			})
			p.finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "migrated %d of %d project schemas (%d migrations applied) in %s\n",
				res.Migrated, res.Visited, res.Applied, time.Since(start).Round(time.Millisecond))
			if len(res.Failed) > 0 {
				for _, f := range res.Failed {
					fmt.Fprintln(e.stderr, "failed:", f)
				}
				return errors.New("some project schemas failed to migrate; rerun after fixing the cause")
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "project schemas migrated at once")
	cmd.Flags().BoolVar(&all, "all", false, "check every project schema, not only those recorded as behind")
	return cmd
}

// progress shows a bar on a terminal and a line every 10% otherwise.
type progress struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	last int
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) total(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription("project schemas"),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond))
		} else {
			p.bar.ChangeMax(n)
		}
		return
	}
	fmt.Fprintf(p.w, "migrating %d project schemas\n", n)
}

func (p *progress) progress(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Set(done)
		return
	}
	if pct := done * 10 / max(total, 1); pct > p.last || done == total {
		p.last = pct
		fmt.Fprintf(p.w, "  %d/%d project schemas\n", done, total)
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
