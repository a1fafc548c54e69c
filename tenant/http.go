package tenant

import (
	"context"
	"net"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
)

// Binding is how a request reached its project.
type Binding struct {
	Project *Project
	// BaseURL is the project's public URL as this request addressed it:
	// scheme://host for host routing, scheme://host/p/{slug} for the path
	// prefix.
	BaseURL string
}

type bindingKey struct{}

// BindingFrom returns the binding of ctx, or ErrNoProject.
func BindingFrom(ctx context.Context) (*Binding, error) {
	b, ok := ctx.Value(bindingKey{}).(*Binding)
	if !ok || b == nil || b.Project == nil {
		return nil, ErrNoProject
	}
	return b, nil
}

// ProjectOf returns the project bound to the request, or ErrNoProject.
func ProjectOf(c *gin.Context) (*Project, error) { return FromContext(c.Request.Context()) }

// WithBinding returns ctx bound to b's project, for callers that have
// authorized access to the project themselves (the platform API, which
// reaches a project's admin handlers on behalf of a workspace member).
func WithBinding(ctx context.Context, b *Binding) context.Context {
	return context.WithValue(WithProject(ctx, b.Project), bindingKey{}, b)
}

func bind(c *gin.Context, b *Binding) {
	ctx := WithProject(c.Request.Context(), b.Project)
	ctx = context.WithValue(ctx, bindingKey{}, b)
	c.Request = c.Request.WithContext(ctx)
	httpx.SetLogAttrs(c, "project_id", b.Project.ID.String())
}

// Resolver binds requests to projects: custom domain, then
// {slug}.{domain} host, then the /p/{slug} path prefix.
type Resolver struct {
	Registry *Registry
	Domain   string // LANYARD_PROJECTS_DOMAIN
	Scheme   string // public scheme of project URLs
}

// maxHostLen is the longest DNS name plus a port.
const maxHostLen = 253 + 6

var errBadHost = errx.New(errx.Invalid, "The Host header is not a valid host name.")

func hostOnly(h string) (string, bool) {
	if len(h) > maxHostLen {
		return "", false
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == ':' || r == '[' || r == ']') {
			return "", false
		}
	}
	return h, true
}

// Host is the engine-wide middleware: it binds the project named by the
// Host header, answers 404 when the host names a project that does not
// exist, and lets requests that name none (IP addresses, the bare domain,
// unknown hosts) through unbound.
func (r *Resolver) Host() gin.HandlerFunc {
	suffix := "." + strings.ToLower(r.Domain)
	return func(c *gin.Context) {
		host, ok := hostOnly(c.Request.Host)
		if !ok {
			httpx.WriteError(c, errBadHost)
			return
		}
		var p *Project
		var err error
		switch {
		case strings.HasSuffix(host, suffix):
			label := strings.TrimSuffix(host, suffix)
			if strings.Contains(label, ".") {
				httpx.WriteError(c, errProjectNotFound)
				return
			}
			p, err = r.Registry.BySlug(c.Request.Context(), label)
		case host == strings.ToLower(r.Domain) || net.ParseIP(strings.Trim(host, "[]")) != nil || host == "":
			c.Next()
			return
		default:
			p, err = r.Registry.ByDomain(c.Request.Context(), host)
			if errx.Has(err, errx.NotFound) {
				c.Next() // not a project host: path routing may still bind one
				return
			}
		}
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		bind(c, &Binding{Project: p, BaseURL: r.Scheme + "://" + c.Request.Host})
		c.Next()
	}
}

// PathPrefix is the middleware of the /p/:slug route group. A request that
// its host already bound must name the same project in its path.
func (r *Resolver) PathPrefix() gin.HandlerFunc {
	return func(c *gin.Context) {
		slug := c.Param("slug")
		if b, err := BindingFrom(c.Request.Context()); err == nil {
			if b.Project.Slug != slug {
				httpx.WriteError(c, errProjectNotFound)
				return
			}
			b.BaseURL += "/p/" + slug
			c.Next()
			return
		}
		p, err := r.Registry.BySlug(c.Request.Context(), slug)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		bind(c, &Binding{Project: p, BaseURL: r.Scheme + "://" + c.Request.Host + "/p/" + slug})
		c.Next()
	}
}

// Require answers 404 unless a project is bound.
func Require(c *gin.Context) {
	if _, err := ProjectOf(c); err != nil {
		httpx.WriteError(c, errProjectNotFound)
		return
	}
	c.Next()
}

type apiKeyCtx struct{}

// APIKeyOf returns the API key that authenticated the request, if any.
func APIKeyOf(ctx context.Context) *APIKey {
	k, _ := ctx.Value(apiKeyCtx{}).(*APIKey)
	return k
}

// RequireAPIKey guards /admin: the request must carry a live API key of the
// bound project, or it gets 401.
func (r *Registry) RequireAPIKey() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := ProjectOf(c)
		if err != nil {
			httpx.WriteError(c, errProjectNotFound)
			return
		}
		key, err := r.Authenticate(c.Request.Context(), p, BearerToken(c.GetHeader("Authorization")))
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		r.touchSoon(c.Request.Context(), key.ID)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), apiKeyCtx{}, key))
		c.Next()
	}
}
