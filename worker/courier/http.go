package courier

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Page sizes of the admin list.
const (
	DefaultPageSize = 250
	MaxPageSize     = 1000
)

// Redacted replaces subjects and bodies outside dev mode (as Kratos does).
const Redacted = "<redacted-unless-dev-mode>"

// ErrBadPageToken answers a page token that is malformed, altered or made
// for another project.
var ErrBadPageToken = errx.New(errx.Invalid, "The page_token is invalid: it is malformed, was altered, or belongs to another project.").WithID("invalid_page_token")

// ListParams select a page of messages, newest first.
type ListParams struct {
	Status    string // "" or a message status
	Recipient string // exact address
	PageSize  int
	PageToken string
}

// List returns one page of the project's messages (without dispatches) and
// the token of the next page ("" on the last one).
func (s *Service) List(ctx context.Context, p *tenant.Project, lp ListParams) ([]*Stored, string, error) {
	switch lp.Status {
	case "", StatusQueued, StatusProcessing, StatusSent, StatusAbandoned:
	default:
		return nil, "", errx.Newf(errx.Invalid, "status must be one of queued, processing, sent or abandoned, not %q.", lp.Status)
	}
	if lp.PageSize <= 0 {
		lp.PageSize = DefaultPageSize
	}
	lp.PageSize = min(lp.PageSize, MaxPageSize)
	f := listFilter{Status: lp.Status, Recipient: strings.TrimSpace(lp.Recipient), Limit: lp.PageSize + 1}
	if lp.PageToken != "" {
		c, err := s.openToken(p, lp.PageToken)
		if err != nil {
			return nil, "", err
		}
		f.After = &c
	}
	var list []*Stored
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		list, err = listMessages(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("courier.Service.List: %w", err)
	}
	next := ""
	if len(list) > lp.PageSize {
		list = list[:lp.PageSize]
		last := list[len(list)-1]
		next = s.sealToken(p, cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return list, next, nil
}

// pagePurpose binds page tokens to this list; the cursor is the
// created_at (µs) and id of the last message of the page.
const pagePurpose = "lanyard.courier.messages"

func (s *Service) sealToken(p *tenant.Project, c cursor) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(c.CreatedAt.UnixMicro()))
	b = append(b, c.ID[:]...)
	return s.pages.Seal(pagePurpose, p.ID, b)
}

func (s *Service) openToken(p *tenant.Project, tok string) (cursor, error) {
	b, err := s.pages.Open(pagePurpose, p.ID, tok)
	if err != nil || len(b) != 24 {
		return cursor{}, ErrBadPageToken
	}
	id, _ := uuid.FromBytes(b[8:])
	return cursor{CreatedAt: time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))), ID: id}, nil
}

// redact hides what production mode may not show.
func (s *Service) redact(ms ...*Stored) {
	if !s.o.Production {
		return
	}
	for _, m := range ms {
		m.Subject, m.Body = Redacted, Redacted
	}
}

// ListMessages answers GET /admin/courier/messages (Kratos
// listCourierMessages): filters status and recipient, keyset paging with
// page_size and page_token, and a Link header.
func ListMessages(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		b, err := tenant.BindingFrom(c.Request.Context())
		if err != nil {
			return err
		}
		q := c.Request.URL.Query()
		lp := ListParams{Status: q.Get("status"), Recipient: q.Get("recipient"), PageToken: q.Get("page_token")}
		if v := q.Get("page_size"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxPageSize {
				return errx.Newf(errx.Invalid, "page_size must be a number between 1 and %d.", MaxPageSize)
			}
			lp.PageSize = n
		}
		list, next, err := s.List(c.Request.Context(), b.Project, lp)
		if err != nil {
			return err
		}
		s.redact(list...)
		c.Header("Link", linkHeader(b.BaseURL+"/admin/courier/messages", q, lp.PageSize, next))
		if list == nil {
			list = []*Stored{}
		}
		c.JSON(http.StatusOK, list)
		return nil
	}
}

func linkHeader(base string, q url.Values, size int, next string) string {
	if size <= 0 {
		size = DefaultPageSize
	}
	v := url.Values{}
	for _, k := range []string{"status", "recipient"} {
		if q.Has(k) {
			v.Set(k, q.Get(k))
		}
	}
	v.Set("page_size", strconv.Itoa(size))
	links := []string{"<" + base + "?" + v.Encode() + `>; rel="first"`}
	if next != "" {
		v.Set("page_token", next)
		links = append(links, "<"+base+"?"+v.Encode()+`>; rel="next"`)
	}
	return strings.Join(links, ",")
}

// GetMessage answers GET /admin/courier/messages/{id} (Kratos
// getCourierMessage), with the message's dispatches.
func GetMessage(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return errx.Newf(errx.Invalid, "The message id %q is not a UUID.", c.Param("id"))
		}
		m, err := s.Message(c.Request.Context(), p, id)
		if err != nil {
			return err
		}
		s.redact(m)
		c.JSON(http.StatusOK, m)
		return nil
	}
}
