package httpx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
)

// A handler that fails because its client went away is recorded as 499,
// not as a server error; the same error while the client is still there
// (the server cancelled something itself) stays a 500.
func TestClientGoneIsNotAServerError(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.GET("/x", httpx.Wrap(func(c *gin.Context) error {
		return fmt.Errorf("load: %w", context.Canceled)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil).WithContext(ctx))
	if w.Code != httpx.StatusClientClosedRequest {
		t.Errorf("client gone: %d, want 499", w.Code)
	}
	w = httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("client there: %d, want 500", w.Code)
	}
}
