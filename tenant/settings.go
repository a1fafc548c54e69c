package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	values map[string][]byte // nil until read; never changed once set
	cached bool              // may come from the process's copy (TxOptions.CachedSettings)
	wrote  bool              // this transaction saved a setting: read from Postgres
}

// SettingsTTL bounds the age of the process's copy of a project's
// settings that transactions with TxOptions.CachedSettings read. A change
// made by this process drops its copy at once and again when the change
// commits; a change made by another process is seen within SettingsTTL.
const SettingsTTL = 5 * time.Second

// settingsCopies is the process's copy of the settings of the projects it
// served.
var settingsCopies = NewCopies[map[string][]byte](SettingsTTL)

func (t Tx) setting(ctx context.Context, key string) ([]byte, bool, error) {
	if t.st == nil { // a Tx made without InTx
		var raw []byte
		err := t.QueryRow(ctx, `SELECT value FROM project_settings WHERE key = $1`, key).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, nil
		}
		return raw, err == nil, err
	}
	m := &t.st.settings
	if m.values == nil && m.cached && !m.wrote {
		m.values, _ = settingsCopies.Get(t.project.ID)
	}
	if m.values == nil {
		gen, at := settingsCopies.Begin()
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
		if !m.wrote {
			settingsCopies.Keep(t.project.ID, values, gen, at)
		}
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
	if tx.st != nil {
		m := &tx.st.settings
		m.values = nil // later reads in this transaction read again
		m.wrote = true
	}
	// Other transactions of this process read Postgres again from now on,
	// and again once this one ended (a read between now and the commit
	// still sees the old values; it must not be kept).
	settingsCopies.DropAt(tx)
	return nil
}
