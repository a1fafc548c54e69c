package hook

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// GetConfig answers GET /admin/hooks (Lanyard): the project's hooks,
// without secrets.
func GetConfig(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		cfg, err := s.Load(c.Request.Context(), p)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, cfg)
		return nil
	}
}

// PutConfig answers PUT /admin/hooks (Lanyard): it validates and stores
// the project's hooks (400 with the place of the problem, and the line and
// column of a script that does not compile). New signing secrets are shown
// once in the answer.
func PutConfig(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		var cfg Config
		if err := httpx.BindJSON(c, &cfg, true); err != nil {
			return err
		}
		saved, err := s.Save(c.Request.Context(), p, cfg)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, saved)
		return nil
	}
}

// ListDeliveries answers GET /admin/hooks/deliveries (Lanyard): the
// delivery log, newest first, filtered by status, hook_id, flow and mode,
// paged with page_size and page_token (Link header).
func ListDeliveries(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		b, err := tenant.BindingFrom(c.Request.Context())
		if err != nil {
			return err
		}
		q := c.Request.URL.Query()
		lp := ListParams{Status: q.Get("status"), HookID: q.Get("hook_id"), Flow: q.Get("flow"), Mode: q.Get("mode"), PageToken: q.Get("page_token")}
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
		if next != "" {
			nq := url.Values{}
			for k, v := range q {
				nq[k] = v
			}
			nq.Set("page_token", next)
			c.Header("Link", "<"+b.BaseURL+"/admin/hooks/deliveries?"+nq.Encode()+`>; rel="next"`)
		}
		if list == nil {
			list = []*Delivery{}
		}
		c.JSON(http.StatusOK, list)
		return nil
	}
}

var errBadID = errx.New(errx.Invalid, "The delivery id must be a UUID.")

// GetDelivery answers GET /admin/hooks/deliveries/{id} (Lanyard): one
// delivery with every attempt.
func GetDelivery(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return errBadID
		}
		d, err := s.Get(c.Request.Context(), p, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, d)
		return nil
	}
}

// ReplayDelivery answers POST /admin/hooks/deliveries/{id}/replay
// (Lanyard): a new asynchronous delivery of the same payload (202).
func ReplayDelivery(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return errBadID
		}
		d, err := s.Replay(c.Request.Context(), p, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusAccepted, d)
		return nil
	}
}
