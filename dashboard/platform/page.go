package platform

import (
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Lists page by keyset: page_size (1 to 250, default 50) and page_token,
// the sealed position after the last item of the previous page, bound to
// one list of one workspace or project. An answer carries
// next_page_token, empty on the last page.

const (
	defaultPageSize = 50
	maxPageSize     = 250
)

var errBadPageToken = errx.New(errx.Invalid, "The page_token is invalid or belongs to another list.").WithID("invalid_page_token")

type page struct {
	size  int
	after *cursor
}

// Page is the body of every list answer.
type Page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token"`
}

func (a *API) readPage(c *gin.Context, purpose string, scope uuid.UUID) (page, error) {
	pg := page{size: defaultPageSize}
	if s, ok := c.GetQuery("page_size"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return pg, errx.Newf(errx.Invalid, "page_size must be an integer from 1 to %d.", maxPageSize).WithID("invalid_page_size")
		}
		pg.size = n
	}
	if tok := c.Query("page_token"); tok != "" {
		raw, err := a.o.Sealer.Open("platform:"+purpose, scope, tok)
		if err != nil {
			return pg, errBadPageToken
		}
		at, id, ok := strings.Cut(string(raw), "|")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			return pg, errBadPageToken
		}
		pg.after = &cursor{At: time.UnixMicro(n).UTC(), ID: id}
	}
	return pg, nil
}

// finish returns the page of items (fetched with size+1) and the token of
// the next page.
func finish[T any](a *API, purpose string, scope uuid.UUID, pg page, items []T, pos func(T) cursor) Page[T] {
	out := Page[T]{Items: items}
	if out.Items == nil {
		out.Items = []T{}
	}
	if len(items) > pg.size {
		out.Items = items[:pg.size]
		last := pos(out.Items[pg.size-1])
		raw := strconv.FormatInt(last.At.UnixMicro(), 10) + "|" + last.ID
		out.NextPageToken = a.o.Sealer.Seal("platform:"+purpose, scope, []byte(raw))
	}
	return out
}
