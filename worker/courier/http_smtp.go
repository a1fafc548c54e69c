package courier

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// GetSMTP answers GET /admin/courier/smtp (Lanyard): the project's own SMTP
// server without its password (has_password says whether one is stored),
// or 404 when the project uses the platform's SMTP server.
func GetSMTP(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		st, err := s.SMTPSettings(c.Request.Context(), p)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, st)
		return nil
	}
}

// PutSMTP answers PUT /admin/courier/smtp (Lanyard): it validates and
// stores the project's SMTP server (400 for bad settings). The password is
// write-only; an empty one keeps the stored password.
func PutSMTP(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		var st SMTPSettings
		if err := httpx.BindJSON(c, &st, true); err != nil {
			return err
		}
		if err := s.SaveSMTPSettings(c.Request.Context(), p, st); err != nil {
			return err
		}
		saved, err := s.SMTPSettings(c.Request.Context(), p)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, saved)
		return nil
	}
}

// DeleteSMTP answers DELETE /admin/courier/smtp (Lanyard): the project goes
// back to the platform's SMTP server (204, also when it had no settings).
func DeleteSMTP(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		if err := s.DeleteSMTPSettings(c.Request.Context(), p); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

// smtpTestBody is the body of a test send: the recipient and, to try
// settings before saving them, the settings.
type smtpTestBody struct {
	To       string        `json:"to"`
	Settings *SMTPSettings `json:"settings,omitempty"`
}

// TestSMTP answers POST /admin/courier/smtp/test (Lanyard): it sends a test
// email synchronously through the project's SMTP server (or the settings in
// the body) and answers 200, or 400 smtp_test_failed with the server's
// error text in the reason and in details.smtp_error.
func TestSMTP(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		var b smtpTestBody
		if err := httpx.BindJSON(c, &b, true); err != nil {
			return err
		}
		if err := s.SendTest(c.Request.Context(), p, b.To, b.Settings); err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"sent": true, "to": b.To})
		return nil
	}
}
