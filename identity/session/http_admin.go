package session

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
)

// parseExpand reads the repeatable expand parameter (identity, devices).
func parseExpand(c *gin.Context, def Expand) (Expand, error) {
	vals := c.QueryArray("expand")
	if len(vals) == 0 {
		return def, nil
	}
	var ex Expand
	for _, v := range vals {
		switch v {
		case "identity":
			ex.Identity = true
		case "devices":
			ex.Devices = true
		default:
			return ex, errx.Newf(errx.Invalid, "The expand value %q is not one of: identity, devices.", truncate(v, 64))
		}
	}
	return ex, nil
}

func parseActive(c *gin.Context) (*bool, error) {
	switch c.Query("active") {
	case "":
		return nil, nil
	case "true":
		t := true
		return &t, nil
	case "false":
		f := false
		return &f, nil
	}
	return nil, errx.New(errx.Invalid, "The parameter active must be true or false.")
}

// AdminList serves GET /admin/sessions.
func AdminList(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, base, err := binding(c)
		if err != nil {
			return err
		}
		pg, legacy, err := parsePage(c)
		if err != nil {
			return err
		}
		active, err := parseActive(c)
		if err != nil {
			return err
		}
		ex, err := parseExpand(c, Expand{})
		if err != nil {
			return err
		}
		l, err := s.AdminList(c.Request.Context(), p, base, active, pg, ex)
		if err != nil {
			return err
		}
		writeList(c, base, l, pg, legacy)
		return nil
	}
}

// AdminGet serves GET /admin/sessions/{id}; without expand it renders the
// identity and the devices.
func AdminGet(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, base, err := binding(c)
		if err != nil {
			return err
		}
		id, err := parseID(c.Param("id"))
		if err != nil {
			return err
		}
		ex, err := parseExpand(c, Expand{Identity: true, Devices: true})
		if err != nil {
			return err
		}
		sess, err := s.Get(c.Request.Context(), p, base, id, ex)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, sess)
		return nil
	}
}

// AdminDisable serves DELETE /admin/sessions/{id}: 204.
func AdminDisable(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, _, err := binding(c)
		if err != nil {
			return err
		}
		id, err := parseID(c.Param("id"))
		if err != nil {
			return err
		}
		if err := s.Disable(c.Request.Context(), p, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

// AdminExtend serves PATCH /admin/sessions/{id}/extend: 200 session.
func AdminExtend(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, base, err := binding(c)
		if err != nil {
			return err
		}
		id, err := parseID(c.Param("id"))
		if err != nil {
			return err
		}
		sess, err := s.Extend(c.Request.Context(), p, base, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, sess)
		return nil
	}
}

// AdminIdentitySessions serves GET /admin/identities/{id}/sessions.
func AdminIdentitySessions(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, base, err := binding(c)
		if err != nil {
			return err
		}
		id, err := parseID(c.Param("id"))
		if err != nil {
			return err
		}
		pg, legacy, err := parsePage(c)
		if err != nil {
			return err
		}
		active, err := parseActive(c)
		if err != nil {
			return err
		}
		ex, err := parseExpand(c, Expand{Identity: true, Devices: true})
		if err != nil {
			return err
		}
		l, err := s.IdentitySessions(c.Request.Context(), p, base, id, active, pg, ex)
		if err != nil {
			return err
		}
		writeList(c, base, l, pg, legacy)
		return nil
	}
}

// AdminRevokeIdentitySessions serves DELETE /admin/identities/{id}/sessions: 204.
func AdminRevokeIdentitySessions(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, _, err := binding(c)
		if err != nil {
			return err
		}
		id, err := parseID(c.Param("id"))
		if err != nil {
			return err
		}
		if err := s.RevokeAllOf(c.Request.Context(), p, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}
