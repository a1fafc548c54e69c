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
//
// The first read of a transaction reads every setting of the project in
// one statement and keeps them for the transaction: a flow request reads
// several (flows, hooks, session, courier limits) and pays one round trip.
func LoadSetting(ctx context.Context, tx Tx, key string, v any) (bool, error) {
	raw, ok, err := tx.setting(ctx, key)
	if err != nil {
		return false, fmt.Errorf("tenant.LoadSetting %s: %w", key, err)
	}
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("tenant.LoadSetting %s: stored value: %w", key, err)
	}
	return true, nil
}

// settingsMemo holds a transaction's settings once read.
type settingsMemo struct {
	values map[string][]byte // nil until read
}

func (t Tx) setting(ctx context.Context, key string) ([]byte, bool, error) {
	m := t.settings
	if m == nil { // a Tx made without InTx
		var raw []byte
		err := t.QueryRow(ctx, `SELECT value FROM project_settings WHERE key = $1`, key).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, nil
		}
		return raw, err == nil, err
	}
	if m.values == nil {
		rows, err := t.Query(ctx, `SELECT key, value FROM project_settings`)
		if err != nil {
			return nil, false, err
		}
		values := map[string][]byte{}
		for rows.Next() {
			var k string
			var raw []byte
			if err := rows.Scan(&k, &raw); err != nil {
				rows.Close()
				return nil, false, err
			}
			values[k] = raw
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
		m.values = values
	}
	raw, ok := m.values[key]
	return raw, ok, nil
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
	if m := tx.settings; m != nil {
		m.values = nil // later reads in this transaction read again
	}
	return nil
}
