package httpx

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/buildinfo"
)

// Checker checks one dependency; a nil error means healthy.
type Checker func(ctx context.Context) error

// Health serves /health/alive, /health/ready and /version.
type Health struct {
	Checks map[string]Checker
}

// Register adds the health and version routes to r.
func (h *Health) Register(r gin.IRoutes) {
	r.GET("/health/alive", h.alive)
	r.GET("/health/ready", h.ready)
	r.GET("/version", version)
}

func (h *Health) alive(c *gin.Context) {
	c.Header("Cache-Control", "private, no-cache, no-store, must-revalidate")
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// ready checks every dependency at once with a short timeout and names each
// one that failed.
func (h *Health) ready(c *gin.Context) {
	c.Header("Cache-Control", "private, no-cache, no-store, must-revalidate")
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := map[string]string{}
	for name, check := range h.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(ctx); err != nil {
				mu.Lock()
				failed[name] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		Logger(c).Warn("not ready", "failed", failed)
		c.JSON(http.StatusServiceUnavailable, gin.H{"errors": failed})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func version(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"version": buildinfo.Version})
}
