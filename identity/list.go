package identity

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Page sizes of the admin list.
const (
	DefaultPageSize = 250
	MaxPageSize     = 1000
	MaxIDsFilter    = 500
)

// ListParams select a page of identities. At most one of IDs and
// CredentialsIdentifier is set.
type ListParams struct {
	PageSize              int
	PageToken             string
	IDs                   []uuid.UUID
	CredentialsIdentifier string
}

// ErrBadPageToken answers a page token that is malformed, tampered with or
// made for another project.
var ErrBadPageToken = errx.New(errx.Invalid, "The page_token is invalid: it is malformed, was altered, or belongs to another project or list.").WithID("invalid_page_token")

// List returns one page of identities ordered by id, and the token of the
// next page ("" on the last page). Page tokens are signed for the project
// and the list, so they are useless elsewhere (ErrBadPageToken).
func (m *Manager) List(ctx context.Context, p *tenant.Project, lp ListParams) ([]*Identity, string, error) {
	if lp.PageSize <= 0 {
		lp.PageSize = DefaultPageSize
	}
	lp.PageSize = min(lp.PageSize, MaxPageSize)
	if len(lp.IDs) > MaxIDsFilter {
		return nil, "", errx.Newf(errx.Invalid, "At most %d ids may be given.", MaxIDsFilter)
	}
	f := listFilter{Limit: lp.PageSize + 1, IDs: lp.IDs, Identifier: strings.TrimSpace(lp.CredentialsIdentifier)}
	if lp.PageToken != "" {
		after, err := m.openToken(p, lp.PageToken)
		if err != nil {
			return nil, "", err
		}
		f.After = after
	}
	var list []*Identity
	err := m.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		list, err = listIdentities(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("identity.Manager.List: %w", err)
	}
	next := ""
	if len(list) > lp.PageSize {
		list = list[:lp.PageSize]
		next = m.sealToken(p, list[len(list)-1].ID)
	}
	return list, next, nil
}

// Legacy page pagination: Kratos's deprecated page/per_page parameters.
// page counts from 0; per_page is clamped to [1, LegacyMaxPerPage]; a
// request reaching past the first LegacyPageLimit items (page*per_page >
// LegacyPageLimit, Kratos's exact check) is refused with ErrLegacyPageLimit.
const (
	LegacyDefaultPerPage = 250
	LegacyMaxPerPage     = 500
	LegacyPageLimit      = 1000
)

// ErrLegacyPageLimit answers a legacy page beyond LegacyPageLimit items.
var ErrLegacyPageLimit = errx.Newf(errx.Invalid,
	"Legacy pagination is not supported for enumerating over %d items. Please switch to using page_token and page_size.", LegacyPageLimit)

// ListPage returns page (from 0) of perPage identities ordered by id, with
// the number of identities lp's filter selects in the project (the
// X-Total-Count of Kratos's legacy pagination). lp's page fields are
// ignored.
func (m *Manager) ListPage(ctx context.Context, p *tenant.Project, lp ListParams, page, perPage int) ([]*Identity, int64, error) {
	perPage = min(max(perPage, 1), LegacyMaxPerPage)
	page = max(page, 0)
	if page > LegacyPageLimit || page*perPage > LegacyPageLimit { // the first test keeps the product from overflowing
		return nil, 0, ErrLegacyPageLimit
	}
	if len(lp.IDs) > MaxIDsFilter {
		return nil, 0, errx.Newf(errx.Invalid, "At most %d ids may be given.", MaxIDsFilter)
	}
	f := listFilter{Limit: perPage, Offset: page * perPage, IDs: lp.IDs, Identifier: strings.TrimSpace(lp.CredentialsIdentifier)}
	var (
		list  []*Identity
		total int64
	)
	err := m.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		if list, err = listIdentities(ctx, tx, f); err != nil {
			return err
		}
		total, err = countIdentities(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("identity.Manager.ListPage: %w", err)
	}
	return list, total, nil
}

// pagePurpose binds page tokens to this list; the cursor is the id of the
// last identity of the page.
const pagePurpose = "lanyard.identities"

func (m *Manager) sealToken(p *tenant.Project, after uuid.UUID) string {
	return m.pages.Seal(pagePurpose, p.ID, after[:])
}

func (m *Manager) openToken(p *tenant.Project, tok string) (uuid.UUID, error) {
	c, err := m.pages.Open(pagePurpose, p.ID, tok)
	if err != nil || len(c) != 16 {
		return uuid.Nil, ErrBadPageToken
	}
	id, _ := uuid.FromBytes(c)
	return id, nil
}
