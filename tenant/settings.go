package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Project settings are JSON documents by key in the project's
// project_settings table (the session, flow, hook... configuration).

// LoadSetting decodes the project's setting key into v, which holds the
// defaults; it reports whether the project has set the key. A stored value
// that no longer decodes is an error and leaves v as it was decoded so far.
func LoadSetting(ctx context.Context, tx Tx, key string, v any) (bool, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT value FROM project_settings WHERE key = $1`, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tenant.LoadSetting %s: %w", key, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("tenant.LoadSetting %s: stored value: %w", key, err)
	}
	return true, nil
}

// SaveSetting stores v as the project's setting key.
func SaveSetting(ctx context.Context, tx Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("tenant.SaveSetting %s: %w", key, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO project_settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, key, b)
	if err != nil {
		return fmt.Errorf("tenant.SaveSetting %s: %w", key, err)
	}
	return nil
}
