package platform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// store is the SQL of the platform API, over the platform schema.
type store struct {
	db *pgxpool.Pool
}

// Workspace is a workspace as a member sees it.
type Workspace struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Personal  bool      `json:"personal"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	joinedAt  time.Time // the membership's start: the list's order
}

// Member is an account's membership of a workspace.
type Member struct {
	AccountID uuid.UUID `json:"account_id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Invitation is a pending or answered invitation.
type Invitation struct {
	ID          uuid.UUID  `json:"id"`
	WorkspaceID uuid.UUID  `json:"workspace_id"`
	Email       string     `json:"email"`
	Role        Role       `json:"role"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	AcceptedAt  *time.Time `json:"accepted_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

// Token is a workspace access token's description; the secret is never
// stored, only its SHA-256.
type Token struct {
	ID          uuid.UUID  `json:"id"`
	WorkspaceID uuid.UUID  `json:"workspace_id"`
	Name        string     `json:"name"`
	Role        Role       `json:"role"`
	Hint        string     `json:"hint"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

// AuditEvent is one entry of a workspace's audit log.
type AuditEvent struct {
	ID         uuid.UUID       `json:"id"`
	ActorType  string          `json:"actor_type"`
	ActorID    uuid.UUID       `json:"actor_id"`
	ActorName  string          `json:"actor_name"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Data       json.RawMessage `json:"data"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	CreatedAt  time.Time       `json:"created_at"`
}

// cursor is a keyset position: (created_at, id).
type cursor struct {
	At time.Time
	ID string
}

// TokenPrefix starts every workspace access token.
const TokenPrefix = "lanyard_wt_"

func newSecret(prefix string) (secret string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, hashSecret(secret)
}

func hashSecret(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// account is the platform's row of an account.
type account struct {
	id        uuid.UUID
	email     string
	workspace *uuid.UUID
}

// ensureAccount records the account and, the first time, gives it a
// personal workspace it owns. Concurrent first calls make one workspace:
// the account row is locked while the workspace is made.
func (s *store) ensureAccount(ctx context.Context, id uuid.UUID, email string) error {
	var a account
	err := s.db.QueryRow(ctx, `SELECT id, email, personal_workspace_id FROM platform.accounts WHERE id = $1`, id).Scan(&a.id, &a.email, &a.workspace)
	if err == nil && a.workspace != nil && a.email == email {
		return nil // the common case: one indexed read
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("platform.ensureAccount: %w", err)
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO platform.accounts (id, email) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, email); err != nil {
			return fmt.Errorf("platform.ensureAccount: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT personal_workspace_id FROM platform.accounts WHERE id = $1 FOR UPDATE`, id).Scan(&a.workspace); err != nil {
			return fmt.Errorf("platform.ensureAccount: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE platform.accounts SET email = $2, updated_at = now() WHERE id = $1 AND email <> $2`, id, email); err != nil {
			return fmt.Errorf("platform.ensureAccount: %w", err)
		}
		if a.workspace != nil {
			return nil
		}
		ws := uuid.New()
		name := "Personal"
		if _, err := tx.Exec(ctx, `INSERT INTO platform.workspaces (id, name) VALUES ($1, $2)`, ws, name); err != nil {
			return fmt.Errorf("platform.ensureAccount: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO platform.workspace_members (workspace_id, account_id, role) VALUES ($1, $2, 'owner')`, ws, id); err != nil {
			return fmt.Errorf("platform.ensureAccount: %w", err)
		}
		_, err := tx.Exec(ctx, `UPDATE platform.accounts SET personal_workspace_id = $2 WHERE id = $1`, id, ws)
		return err
	})
}

// role returns the account's role in the workspace, or errWorkspaceNotFound.
func (s *store) role(ctx context.Context, ws, accountID uuid.UUID) (Role, error) {
	var r Role
	err := s.db.QueryRow(ctx, `SELECT role FROM platform.workspace_members WHERE workspace_id = $1 AND account_id = $2`, ws, accountID).Scan(&r)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errWorkspaceNotFound
	}
	if err != nil {
		return "", fmt.Errorf("platform.role: %w", err)
	}
	return r, nil
}

func (s *store) listWorkspaces(ctx context.Context, accountID uuid.UUID, after *cursor, limit int) ([]*Workspace, error) {
	rows, err := s.page(ctx, after, `SELECT w.id, w.name, m.role, coalesce(a.personal_workspace_id = w.id, false), m.created_at, w.created_at, w.updated_at
		FROM platform.workspace_members m JOIN platform.workspaces w ON w.id = m.workspace_id
		LEFT JOIN platform.accounts a ON a.id = m.account_id
		WHERE m.account_id = $1 /*after*/ AND (m.created_at, m.workspace_id) > ($3, $4)
		ORDER BY m.created_at, m.workspace_id LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("platform.listWorkspaces: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Workspace, error) {
		var w Workspace
		return &w, r.Scan(&w.ID, &w.Name, &w.Role, &w.Personal, &w.joinedAt, &w.CreatedAt, &w.UpdatedAt)
	})
}

func (s *store) workspace(ctx context.Context, id uuid.UUID, accountID uuid.UUID) (*Workspace, error) {
	var w Workspace
	err := s.db.QueryRow(ctx, `SELECT w.id, w.name, w.created_at, w.updated_at,
			EXISTS (SELECT 1 FROM platform.accounts a WHERE a.id = $2 AND a.personal_workspace_id = w.id)
		FROM platform.workspaces w WHERE w.id = $1`, id, accountID).Scan(&w.ID, &w.Name, &w.CreatedAt, &w.UpdatedAt, &w.Personal)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errWorkspaceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("platform.workspace: %w", err)
	}
	return &w, nil
}

func (s *store) renameWorkspace(ctx context.Context, tx pgx.Tx, id uuid.UUID, name string) error {
	_, err := tx.Exec(ctx, `UPDATE platform.workspaces SET name = $2, updated_at = now() WHERE id = $1`, id, name)
	return err
}

func (s *store) listMembers(ctx context.Context, ws uuid.UUID, after *cursor, limit int) ([]*Member, error) {
	rows, err := s.page(ctx, after, `SELECT m.account_id, a.email, m.role, m.created_at, m.updated_at
		FROM platform.workspace_members m JOIN platform.accounts a ON a.id = m.account_id
		WHERE m.workspace_id = $1 /*after*/ AND (m.created_at, m.account_id) > ($3, $4)
		ORDER BY m.created_at, m.account_id LIMIT $2`, ws, limit)
	if err != nil {
		return nil, fmt.Errorf("platform.listMembers: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Member, error) {
		var m Member
		return &m, r.Scan(&m.AccountID, &m.Email, &m.Role, &m.CreatedAt, &m.UpdatedAt)
	})
}

var errMemberNotFound = errx.New(errx.NotFound, "The member could not be found in this workspace.").WithID("member_not_found")
var errLastOwner = errx.New(errx.Conflict, "A workspace needs at least one owner: make another member owner first.").WithID("last_owner")

// memberForUpdate locks the member row and the workspace's owner rows, so
// that two concurrent demotions cannot both leave the other as last owner.
func memberForUpdate(ctx context.Context, tx pgx.Tx, ws, accountID uuid.UUID) (*Member, int, error) {
	var owners int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM platform.workspace_members WHERE workspace_id = $1 AND role = 'owner' FOR UPDATE) o`, ws).Scan(&owners); err != nil {
		return nil, 0, err
	}
	var m Member
	err := tx.QueryRow(ctx, `SELECT m.account_id, a.email, m.role, m.created_at, m.updated_at
		FROM platform.workspace_members m JOIN platform.accounts a ON a.id = m.account_id
		WHERE m.workspace_id = $1 AND m.account_id = $2 FOR UPDATE OF m`, ws, accountID).
		Scan(&m.AccountID, &m.Email, &m.Role, &m.CreatedAt, &m.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, errMemberNotFound
	}
	return &m, owners, err
}

// afterRE is the keyset condition of a list query, written
// "/*after*/ AND (a, b) op ($3, $4)", which page drops on the first page
// (so that the planner sees a plain index range either way).
var afterRE = regexp.MustCompile(`/\*after\*/ AND \([^)]*\) [<>] \(\$3, \$4\)`)

// page runs a list query: $1 is the scope (workspace, project, account),
// $2 the limit, and $3, $4 the position after which the page starts.
func (s *store) page(ctx context.Context, after *cursor, sql string, scope any, limit int) (pgx.Rows, error) {
	if after == nil {
		return s.db.Query(ctx, afterRE.ReplaceAllString(sql, ""), scope, limit)
	}
	id, err := uuid.Parse(after.ID)
	if err != nil {
		return nil, errBadPageToken
	}
	return s.db.Query(ctx, strings.Replace(sql, "/*after*/ ", "", 1), scope, limit, after.At, id)
}

func (s *store) listInvitations(ctx context.Context, ws uuid.UUID, after *cursor, limit int) ([]*Invitation, error) {
	rows, err := s.page(ctx, after, `SELECT id, workspace_id, email, role, created_at, expires_at, accepted_at, revoked_at
		FROM platform.workspace_invitations
		WHERE workspace_id = $1 /*after*/ AND (created_at, id) > ($3, $4)
		ORDER BY created_at, id LIMIT $2`, ws, limit)
	if err != nil {
		return nil, fmt.Errorf("platform.listInvitations: %w", err)
	}
	return pgx.CollectRows(rows, scanInvitation)
}

func scanInvitation(r pgx.CollectableRow) (*Invitation, error) {
	var i Invitation
	return &i, r.Scan(&i.ID, &i.WorkspaceID, &i.Email, &i.Role, &i.CreatedAt, &i.ExpiresAt, &i.AcceptedAt, &i.RevokedAt)
}

func (s *store) listTokens(ctx context.Context, ws uuid.UUID, after *cursor, limit int) ([]*Token, error) {
	rows, err := s.page(ctx, after, `SELECT `+tokenColumns+` FROM platform.workspace_tokens
		WHERE workspace_id = $1 /*after*/ AND (created_at, id) > ($3, $4)
		ORDER BY created_at, id LIMIT $2`, ws, limit)
	if err != nil {
		return nil, fmt.Errorf("platform.listTokens: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Token, error) { return scanToken(r) })
}

const tokenColumns = `id, workspace_id, name, role, hint, created_at, last_used_at, revoked_at`

func scanToken(r pgx.Row) (*Token, error) {
	var t Token
	return &t, r.Scan(&t.ID, &t.WorkspaceID, &t.Name, &t.Role, &t.Hint, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
}

// tokenByHash returns the live token with this hash and records its use
// (at most once a minute, so that a busy token does not write per call).
func (s *store) tokenByHash(ctx context.Context, hash []byte) (*Token, error) {
	t, err := scanToken(s.db.QueryRow(ctx, `SELECT `+tokenColumns+` FROM platform.workspace_tokens WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("platform.tokenByHash: %w", err)
	}
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
		_, _ = s.db.Exec(ctx, `UPDATE platform.workspace_tokens SET last_used_at = now() WHERE id = $1`, t.ID)
	}
	return t, nil
}

func (s *store) listAudit(ctx context.Context, ws uuid.UUID, after *cursor, limit int) ([]*AuditEvent, error) {
	rows, err := s.page(ctx, after, `SELECT id, actor_type, actor_id, actor_name, action, target_type, target_id, data, ip, user_agent, created_at
		FROM platform.audit_events
		WHERE workspace_id = $1 /*after*/ AND (created_at, id) < ($3, $4)
		ORDER BY created_at DESC, id DESC LIMIT $2`, ws, limit)
	if err != nil {
		return nil, fmt.Errorf("platform.listAudit: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*AuditEvent, error) {
		var e AuditEvent
		return &e, r.Scan(&e.ID, &e.ActorType, &e.ActorID, &e.ActorName, &e.Action, &e.TargetType, &e.TargetID, &e.Data, &e.IP, &e.UserAgent, &e.CreatedAt)
	})
}

// listAPIKeys pages a project's API keys, newest first.
func (s *store) listAPIKeys(ctx context.Context, projectID uuid.UUID, after *cursor, limit int) ([]*tenant.APIKey, error) {
	rows, err := s.page(ctx, after, `SELECT id, project_id, name, hint, created_at, last_used_at, revoked_at
		FROM platform.project_api_keys
		WHERE project_id = $1 /*after*/ AND (created_at, id) < ($3, $4)
		ORDER BY created_at DESC, id DESC LIMIT $2`, projectID, limit)
	if err != nil {
		return nil, fmt.Errorf("platform.listAPIKeys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*tenant.APIKey, error) {
		var k tenant.APIKey
		return &k, r.Scan(&k.ID, &k.ProjectID, &k.Name, &k.Hint, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
	})
}

// audit is one event to record.
type audit struct {
	Workspace  uuid.UUID
	Action     string
	TargetType string
	TargetID   string
	Data       map[string]any
}

// writeAudit records e in tx (or in its own statement when tx is nil).
func (s *store) writeAudit(ctx context.Context, tx pgx.Tx, pr *Principal, from requestInfo, e audit) error {
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	b, err := json.Marshal(e.Data)
	if err != nil {
		return err
	}
	const q = `INSERT INTO platform.audit_events (id, workspace_id, actor_type, actor_id, actor_name, action, target_type, target_id, data, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	args := []any{uuid.New(), e.Workspace, pr.Kind, pr.actorID(), pr.actorName(), e.Action, e.TargetType, e.TargetID, b, from.IP, from.UserAgent}
	if tx != nil {
		_, err = tx.Exec(ctx, q, args...)
	} else {
		_, err = s.db.Exec(ctx, q, args...)
	}
	if err != nil {
		return fmt.Errorf("platform.writeAudit: %w", err)
	}
	return nil
}

// requestInfo is where a call came from, for the audit log.
type requestInfo struct {
	IP        string
	UserAgent string
}

// listProjects pages a workspace's active projects, newest first, along
// the index projects_workspace_list.
func (s *store) listProjects(ctx context.Context, ws uuid.UUID, after *cursor, limit int) ([]*tenant.Project, error) {
	rows, err := s.page(ctx, after, `SELECT id, workspace_id, slug, name, environment, state, created_at, updated_at
		FROM platform.projects
		WHERE workspace_id = $1 AND state = 'active' /*after*/ AND (created_at, id) < ($3, $4)
		ORDER BY created_at DESC, id DESC LIMIT $2`, ws, limit)
	if err != nil {
		return nil, fmt.Errorf("platform.listProjects: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*tenant.Project, error) {
		var p tenant.Project
		return &p, r.Scan(&p.ID, &p.WorkspaceID, &p.Slug, &p.Name, &p.Environment, &p.State, &p.CreatedAt, &p.UpdatedAt)
	})
}
