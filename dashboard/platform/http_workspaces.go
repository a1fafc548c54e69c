package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// me answers GET /api/v1/me.
func (a *API) me(c *gin.Context) error {
	p, err := principalOf(c)
	if err != nil {
		return err
	}
	if p.Kind == KindToken {
		c.JSON(http.StatusOK, gin.H{"kind": KindToken, "token": gin.H{
			"id": p.TokenID, "name": p.TokenName, "workspace_id": p.TokenWorkspace, "role": p.TokenRole}})
		return nil
	}
	var personal *uuid.UUID
	if err := a.st.db.QueryRow(c, `SELECT personal_workspace_id FROM platform.accounts WHERE id = $1`, p.AccountID).Scan(&personal); err != nil {
		return fmt.Errorf("platform.me: %w", err)
	}
	c.JSON(http.StatusOK, gin.H{"kind": KindAccount, "account": gin.H{
		"id": p.AccountID, "email": p.Email, "verified": p.Verified, "personal_workspace_id": personal}})
	return nil
}

func wsPos(w *Workspace) cursor { return cursor{At: w.joinedAt, ID: w.ID.String()} }

// listWorkspaces answers GET /api/v1/workspaces: the caller's workspaces.
func (a *API) listWorkspaces(c *gin.Context) error {
	p, err := principalOf(c)
	if err != nil {
		return err
	}
	if p.Kind == KindToken {
		w, err := a.st.workspace(c, p.TokenWorkspace, uuid.Nil)
		if err != nil {
			return err
		}
		w.Role = p.TokenRole
		c.JSON(http.StatusOK, Page[*Workspace]{Items: []*Workspace{w}})
		return nil
	}
	pg, err := a.readPage(c, "workspaces", p.AccountID)
	if err != nil {
		return err
	}
	list, err := a.st.listWorkspaces(c, p.AccountID, pg.after, pg.size+1)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, finish(a, "workspaces", p.AccountID, pg, list, wsPos))
	return nil
}

// getWorkspace answers GET /api/v1/workspaces/{workspace}.
func (a *API) getWorkspace(c *gin.Context) error {
	p, ws, role, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	w, err := a.st.workspace(c, ws, p.AccountID)
	if err != nil {
		return err
	}
	w.Role = role
	c.JSON(http.StatusOK, w)
	return nil
}

type renameBody struct {
	Name string `json:"name"`
}

// patchWorkspace answers PATCH /api/v1/workspaces/{workspace}: rename.
func (a *API) patchWorkspace(c *gin.Context) error {
	p, ws, role, err := a.workspace(c, RoleAdmin)
	if err != nil {
		return err
	}
	var b renameBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	name, err := tenant.ValidateName(b.Name)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		if err := a.st.renameWorkspace(c, tx, ws, name); err != nil {
			return err
		}
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "workspace.rename", TargetType: "workspace", TargetID: ws.String(), Data: map[string]any{"name": name}})
	})
	if err != nil {
		return err
	}
	w, err := a.st.workspace(c, ws, p.AccountID)
	if err != nil {
		return err
	}
	w.Role = role
	c.JSON(http.StatusOK, w)
	return nil
}

func memberPos(m *Member) cursor { return cursor{At: m.CreatedAt, ID: m.AccountID.String()} }

// listMembers answers GET /api/v1/workspaces/{workspace}/members.
func (a *API) listMembers(c *gin.Context) error {
	_, ws, _, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	pg, err := a.readPage(c, "members", ws)
	if err != nil {
		return err
	}
	list, err := a.st.listMembers(c, ws, pg.after, pg.size+1)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, finish(a, "members", ws, pg, list, memberPos))
	return nil
}

type roleBody struct {
	Role Role `json:"role"`
}

func accountParam(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("account"))
	if err != nil {
		return uuid.Nil, errMemberNotFound
	}
	return id, nil
}

// accountOnly refuses workspace tokens.
func accountOnly(p *Principal) error {
	if p.Kind != KindAccount {
		return errAccountOnly
	}
	return nil
}

// patchMember answers PATCH /api/v1/workspaces/{workspace}/members/{account}:
// change a member's role. Admins manage admins and viewers; only an owner
// grants or takes the owner role; the last owner stays.
func (a *API) patchMember(c *gin.Context) error {
	p, ws, myRole, err := a.workspace(c, RoleAdmin)
	if err != nil {
		return err
	}
	if err := accountOnly(p); err != nil {
		return err
	}
	target, err := accountParam(c)
	if err != nil {
		return err
	}
	var b roleBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	if !b.Role.Valid() {
		return errx.New(errx.Invalid, "role must be owner, admin or viewer.").WithID("invalid_role")
	}
	var out *Member
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		m, owners, err := memberForUpdate(c, tx, ws, target)
		if err != nil {
			return err
		}
		if (m.Role == RoleOwner || b.Role == RoleOwner) && myRole != RoleOwner {
			return errRole(RoleOwner)
		}
		if m.Role == RoleOwner && b.Role != RoleOwner && owners <= 1 {
			return errLastOwner
		}
		if _, err := tx.Exec(c, `UPDATE platform.workspace_members SET role = $3, updated_at = now() WHERE workspace_id = $1 AND account_id = $2`, ws, target, b.Role); err != nil {
			return err
		}
		from := m.Role
		m.Role = b.Role
		out = m
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "member.role_change", TargetType: "account", TargetID: target.String(),
			Data: map[string]any{"email": m.Email, "from": from, "to": b.Role}})
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// deleteMember answers DELETE /api/v1/workspaces/{workspace}/members/{account}.
// An admin removes admins and viewers, an owner anyone; any member may
// leave. The last owner cannot go. Access ends with the next request:
// membership is read from Postgres on every call.
func (a *API) deleteMember(c *gin.Context) error {
	p, err := principalOf(c)
	if err != nil {
		return err
	}
	if err := accountOnly(p); err != nil {
		return err
	}
	target, err := accountParam(c)
	if err != nil {
		return err
	}
	min := RoleAdmin
	if target == p.AccountID {
		min = RoleViewer // leaving
	}
	_, ws, myRole, err := a.workspace(c, min)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		m, owners, err := memberForUpdate(c, tx, ws, target)
		if err != nil {
			return err
		}
		if m.Role == RoleOwner && myRole != RoleOwner {
			return errRole(RoleOwner)
		}
		if m.Role == RoleOwner && owners <= 1 {
			return errLastOwner
		}
		if _, err := tx.Exec(c, `DELETE FROM platform.workspace_members WHERE workspace_id = $1 AND account_id = $2`, ws, target); err != nil {
			return err
		}
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "member.remove", TargetType: "account", TargetID: target.String(),
			Data: map[string]any{"email": m.Email, "role": m.Role}})
	})
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type inviteBody struct {
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// InvitationPrefix starts every invitation secret.
const InvitationPrefix = "lanyard_inv_"

// invite answers POST /api/v1/workspaces/{workspace}/invitations: it
// stores the invitation (only the secret's hash) and mails a link to the
// dashboard that works for new accounts (sign up first) and existing ones.
func (a *API) invite(c *gin.Context) error {
	p, ws, myRole, err := a.workspace(c, RoleAdmin)
	if err != nil {
		return err
	}
	if err := accountOnly(p); err != nil {
		return err
	}
	if a.o.Mailer == nil {
		return errx.New(errx.Unavailable, "Mail is not configured on this server, so invitations cannot be sent.")
	}
	var b inviteBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	addr, err := mail.ParseAddress(b.Email)
	if err != nil || addr.Name != "" || len(addr.Address) > 320 {
		return errx.New(errx.Invalid, "email must be an email address.").WithID("invalid_email")
	}
	email := strings.ToLower(addr.Address)
	if b.Role == "" {
		b.Role = RoleViewer
	}
	if !b.Role.Valid() {
		return errx.New(errx.Invalid, "role must be owner, admin or viewer.").WithID("invalid_role")
	}
	if b.Role == RoleOwner && myRole != RoleOwner {
		return errRole(RoleOwner)
	}
	secret, hash := newSecret(InvitationPrefix)
	var inv *Invitation
	var wsName string
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(c, `SELECT name FROM platform.workspaces WHERE id = $1`, ws).Scan(&wsName); err != nil {
			return err
		}
		var already bool
		if err := tx.QueryRow(c, `SELECT EXISTS (SELECT 1 FROM platform.workspace_members m JOIN platform.accounts a ON a.id = m.account_id
			WHERE m.workspace_id = $1 AND lower(a.email) = $2)`, ws, email).Scan(&already); err != nil {
			return err
		}
		if already {
			return errx.New(errx.Conflict, "This email address already belongs to a member of the workspace.").WithID("already_member")
		}
		rows, err := tx.Query(c, `INSERT INTO platform.workspace_invitations (id, workspace_id, email, role, hash, invited_by, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id, workspace_id, email, role, created_at, expires_at, accepted_at, revoked_at`,
			uuid.New(), ws, email, b.Role, hash, p.AccountID, time.Now().Add(a.o.InvitationTTL))
		if err != nil {
			return err
		}
		if inv, err = pgx.CollectExactlyOneRow(rows, scanInvitation); err != nil {
			return err
		}
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "member.invite", TargetType: "invitation", TargetID: inv.ID.String(),
			Data: map[string]any{"email": email, "role": b.Role}})
	})
	if err != nil {
		return err
	}
	if err := a.sendInvitation(c, p, wsName, inv, secret); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, inv)
	return nil
}

func (a *API) sendInvitation(ctx context.Context, p *Principal, wsName string, inv *Invitation, secret string) error {
	console, err := a.o.Registry.BySlug(ctx, a.o.ConsoleSlug)
	if err != nil {
		return err
	}
	link := strings.TrimSuffix(a.o.DashboardURL, "/") + "/invitations/accept?token=" + url.QueryEscape(secret)
	body := fmt.Sprintf("%s invited you to the workspace %q on Lanyard as %s.\n\n"+
		"Open this link to accept; if you have no account yet, sign up with this email address first:\n\n%s\n\n"+
		"The invitation expires on %s.\n", p.Email, wsName, inv.Role, link, inv.ExpiresAt.UTC().Format("2 January 2006 15:04 MST"))
	_, err = a.o.Mailer.Send(ctx, console, courier.Message{Recipient: inv.Email,
		Subject: fmt.Sprintf("You are invited to %s on Lanyard", wsName), Body: body})
	if err != nil {
		return fmt.Errorf("platform.invite: send: %w", err)
	}
	return nil
}

func invitationPos(i *Invitation) cursor { return cursor{At: i.CreatedAt, ID: i.ID.String()} }

// listInvitations answers GET /api/v1/workspaces/{workspace}/invitations.
func (a *API) listInvitations(c *gin.Context) error {
	_, ws, _, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	pg, err := a.readPage(c, "invitations", ws)
	if err != nil {
		return err
	}
	list, err := a.st.listInvitations(c, ws, pg.after, pg.size+1)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, finish(a, "invitations", ws, pg, list, invitationPos))
	return nil
}

var errInvitationNotFound = errx.New(errx.NotFound, "The invitation could not be found.").WithID("invitation_not_found")

// revokeInvitation answers DELETE /api/v1/workspaces/{workspace}/invitations/{invitation}.
func (a *API) revokeInvitation(c *gin.Context) error {
	p, ws, _, err := a.workspace(c, RoleAdmin)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("invitation"))
	if err != nil {
		return errInvitationNotFound
	}
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(c, `UPDATE platform.workspace_invitations SET revoked_at = now()
			WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL AND accepted_at IS NULL`, id, ws)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errInvitationNotFound
		}
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "invitation.revoke", TargetType: "invitation", TargetID: id.String()})
	})
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type acceptBody struct {
	Token string `json:"token"`
}

// acceptInvitation answers POST /api/v1/invitations/accept: the signed-in
// account, whose verified email address must be the invited one, joins
// the workspace.
func (a *API) acceptInvitation(c *gin.Context) error {
	p, err := principalOf(c)
	if err != nil {
		return err
	}
	if err := accountOnly(p); err != nil {
		return err
	}
	var b acceptBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	if !strings.HasPrefix(b.Token, InvitationPrefix) || len(b.Token) > 128 {
		return errInvitationNotFound
	}
	var ws uuid.UUID
	var role Role
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		var email string
		var expires time.Time
		var id uuid.UUID
		err := tx.QueryRow(c, `SELECT id, workspace_id, email, role, expires_at FROM platform.workspace_invitations
			WHERE hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL FOR UPDATE`, hashSecret(b.Token)).Scan(&id, &ws, &email, &role, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return errInvitationNotFound
		}
		if err != nil {
			return err
		}
		if time.Now().After(expires) {
			return errx.New(errx.Gone, "The invitation has expired; ask for a new one.").WithID("invitation_expired")
		}
		if !strings.EqualFold(email, p.Email) {
			return errx.New(errx.Forbidden, "The invitation was sent to another email address.").WithID("invitation_other_email")
		}
		if !p.Verified {
			return errx.New(errx.Forbidden, "Verify your email address before accepting the invitation.").WithID("email_not_verified")
		}
		if _, err := tx.Exec(c, `INSERT INTO platform.workspace_members (workspace_id, account_id, role) VALUES ($1, $2, $3)
			ON CONFLICT (workspace_id, account_id) DO NOTHING`, ws, p.AccountID, role); err != nil {
			return err
		}
		if _, err := tx.Exec(c, `UPDATE platform.workspace_invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1`, id, p.AccountID); err != nil {
			return err
		}
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "member.join", TargetType: "account", TargetID: p.AccountID.String(),
			Data: map[string]any{"email": p.Email, "role": role, "invitation": id}})
	})
	if err != nil {
		return err
	}
	w, err := a.st.workspace(c, ws, p.AccountID)
	if err != nil {
		return err
	}
	w.Role, err = a.st.role(c, ws, p.AccountID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

type tokenBody struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// createToken answers POST /api/v1/workspaces/{workspace}/tokens; the
// secret is in this answer only.
func (a *API) createToken(c *gin.Context) error {
	p, ws, _, err := a.workspace(c, RoleAdmin)
	if err != nil {
		return err
	}
	if err := accountOnly(p); err != nil {
		return err
	}
	var b tokenBody
	if err := httpx.BindJSON(c, &b, true); err != nil {
		return err
	}
	name, err := tenant.ValidateName(b.Name)
	if err != nil {
		return err
	}
	if b.Role == "" {
		b.Role = RoleViewer
	}
	if b.Role != RoleAdmin && b.Role != RoleViewer {
		return errx.New(errx.Invalid, "role must be admin or viewer.").WithID("invalid_role")
	}
	secret, hash := newSecret(TokenPrefix)
	var t *Token
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		t, err = scanToken(tx.QueryRow(c, `INSERT INTO platform.workspace_tokens (id, workspace_id, name, role, hint, hash, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+tokenColumns,
			uuid.New(), ws, name, b.Role, secret[:len(TokenPrefix)+4], hash, p.AccountID))
		if err != nil {
			return err
		}
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "token.create", TargetType: "token", TargetID: t.ID.String(),
			Data: map[string]any{"name": name, "role": b.Role}})
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"token": t, "secret": secret})
	return nil
}

func tokenPos(t *Token) cursor { return cursor{At: t.CreatedAt, ID: t.ID.String()} }

// listTokens answers GET /api/v1/workspaces/{workspace}/tokens.
func (a *API) listTokens(c *gin.Context) error {
	_, ws, _, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	pg, err := a.readPage(c, "tokens", ws)
	if err != nil {
		return err
	}
	list, err := a.st.listTokens(c, ws, pg.after, pg.size+1)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, finish(a, "tokens", ws, pg, list, tokenPos))
	return nil
}

var errTokenNotFound = errx.New(errx.NotFound, "The access token could not be found.").WithID("token_not_found")

// revokeToken answers DELETE /api/v1/workspaces/{workspace}/tokens/{token};
// the token stops working at once.
func (a *API) revokeToken(c *gin.Context) error {
	p, ws, _, err := a.workspace(c, RoleAdmin)
	if err != nil {
		return err
	}
	if err := accountOnly(p); err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("token"))
	if err != nil {
		return errTokenNotFound
	}
	err = pgx.BeginFunc(c, a.st.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(c, `UPDATE platform.workspace_tokens SET revoked_at = now() WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL`, id, ws)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errTokenNotFound
		}
		return a.st.writeAudit(c, tx, p, info(c), audit{Workspace: ws, Action: "token.revoke", TargetType: "token", TargetID: id.String()})
	})
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func auditPos(e *AuditEvent) cursor { return cursor{At: e.CreatedAt, ID: e.ID.String()} }

// listAudit answers GET /api/v1/workspaces/{workspace}/audit, newest first.
func (a *API) listAudit(c *gin.Context) error {
	_, ws, _, err := a.workspace(c, RoleViewer)
	if err != nil {
		return err
	}
	pg, err := a.readPage(c, "audit", ws)
	if err != nil {
		return err
	}
	list, err := a.st.listAudit(c, ws, pg.after, pg.size+1)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, finish(a, "audit", ws, pg, list, auditPos))
	return nil
}
