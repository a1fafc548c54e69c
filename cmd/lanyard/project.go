package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/tenant"
)

func projectCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "project",
		Short: "Create, list and delete projects (operator commands)",
	}
	cmd.AddCommand(projectCreateCmd(e), projectListCmd(e), projectDeleteCmd(e))
	return cmd
}

// openForCLI opens the app for a one-shot command; in dev mode it also
// makes sure the database exists and is migrated.
func openForCLI(ctx context.Context, e *env) (*app, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	if cfg.LogLevel == config.Default().LogLevel {
		cfg.LogLevel = "warn"
	}
	a, err := openApp(ctx, cfg, newLogger(e.stderr, cfg))
	if err != nil {
		return nil, err
	}
	if cfg.Mode == config.ModeDev {
		if _, err := a.migrateAll(ctx, tenant.MigrateOptions{Concurrency: 4}); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

func projectCreateCmd(e *env) *cobra.Command {
	var name, environment, workspace, slug, output string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a project and print its URL and first admin API key (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output must be text or json")
			}
			var wsID uuid.UUID
			if workspace != "" {
				var err error
				if wsID, err = uuid.Parse(workspace); err != nil {
					return fmt.Errorf("--workspace must be a workspace id")
				}
			}
			a, err := openForCLI(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer a.Close()
			c, err := a.deps.Registry.Create(cmd.Context(), tenant.CreateParams{Name: name, Environment: environment, WorkspaceID: wsID, Slug: slug})
			if err != nil {
				return err
			}
			url := a.cfg.ProjectURL(c.Project.Slug)
			if output == "json" {
				return json.NewEncoder(e.stdout).Encode(map[string]string{
					"id": c.Project.ID.String(), "slug": c.Project.Slug, "url": url, "api_key": c.APIKey,
				})
			}
			fmt.Fprintf(e.stdout, "Project %q created.\n\n  ID:       %s\n  Slug:     %s\n  URL:      %s\n  API key:  %s\n\nThe API key is shown once; keep it secret. Use it as 'Authorization: Bearer <key>' on %s/admin/...\n",
				c.Project.Name, c.Project.ID, c.Project.Slug, url, c.APIKey, url)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "project name (required)")
	cmd.Flags().StringVar(&environment, "env", "dev", "environment: dev or prod")
	cmd.Flags().StringVar(&workspace, "workspace", "", "workspace id (default: the operator's default workspace)")
	cmd.Flags().StringVar(&slug, "slug", "", "slug (default: generated)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func projectListCmd(e *env) *cobra.Command {
	var output string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List active projects, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openForCLI(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer a.Close()
			ps, err := a.deps.Registry.List(cmd.Context(), tenant.ListParams{Limit: limit})
			if err != nil {
				return err
			}
			if output == "json" {
				type row struct {
					*tenant.Project
					URL string `json:"url"`
				}
				rows := make([]row, 0, len(ps))
				for _, p := range ps {
					rows = append(rows, row{p, a.cfg.ProjectURL(p.Slug)})
				}
				return json.NewEncoder(e.stdout).Encode(rows)
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tNAME\tENV\tCREATED\tURL")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Slug, p.Name, p.Environment, p.CreatedAt.Format("2006-01-02 15:04"), a.cfg.ProjectURL(p.Slug))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many projects")
	return cmd
}

func projectDeleteCmd(e *env) *cobra.Command {
	var now bool
	cmd := &cobra.Command{
		Use:   "delete SLUG|ID",
		Short: "Delete a project: it stops answering at once; its schema is dropped by a worker",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := openForCLI(cmd.Context(), e)
			if err != nil {
				return err
			}
			defer a.Close()
			p, err := a.deps.Registry.Lookup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if _, err := a.deps.Registry.Delete(cmd.Context(), p.ID); err != nil {
				return err
			}
			if now {
				if err := a.deps.Registry.DropSchema(cmd.Context(), p.ID); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "Project %s deleted and its schema dropped.\n", p.Slug)
				return nil
			}
			if err := a.deps.Enqueuer.EnqueueProjectDrop(cmd.Context(), p.ID); err != nil {
				a.log.Warn("drop not queued; the worker's sweep will drop the schema", "error", err)
			}
			fmt.Fprintf(e.stdout, "Project %s deleted; its schema will be dropped by a worker.\n", p.Slug)
			return nil
		},
	}
	cmd.Flags().BoolVar(&now, "now", false, "drop the schema now instead of in a worker")
	return cmd
}
