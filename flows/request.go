package flows

import (
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// IsJSONRequest reports whether r wants JSON, as Kratos decides it: a
// Content-Type of application/json, or an Accept header that negotiates to
// application/json over text/html. HTML is the default, so "*/*" or no
// Accept at all means a browser redirect.
func IsJSONRequest(r *http.Request) bool {
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && ct == "application/json" {
		return true
	}
	return negotiate(r.Header.Get("Accept"), []string{"text/html", "application/json"}) == "application/json"
}

type acceptSpec struct {
	typ, sub string
	q        float64
	order    int
}

// negotiate picks an offer like goautoneg (used by herodot): accept clauses
// sorted by q, then specificity, then order; the first offer that the best
// clause matches wins; offers[0] when nothing matches.
func negotiate(header string, offers []string) string {
	if strings.TrimSpace(header) == "" {
		return offers[0]
	}
	var specs []acceptSpec
	for i, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok {
			if mt != "*" {
				continue
			}
			typ, sub = "*", "*"
		}
		s := acceptSpec{typ: typ, sub: sub, q: 1, order: i}
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(v, 64); err == nil {
					s.q = q
				}
			}
		}
		specs = append(specs, s)
	}
	spec := func(s acceptSpec) int {
		switch {
		case s.typ == "*":
			return 0
		case s.sub == "*":
			return 1
		}
		return 2
	}
	sort.SliceStable(specs, func(i, j int) bool {
		if specs[i].q != specs[j].q {
			return specs[i].q > specs[j].q
		}
		return spec(specs[i]) > spec(specs[j])
	})
	for _, s := range specs {
		if s.q <= 0 {
			continue
		}
		for _, o := range offers {
			ot, os, _ := strings.Cut(o, "/")
			if (s.typ == "*" || s.typ == ot) && (s.sub == "*" || s.sub == os) {
				return o
			}
		}
	}
	return offers[0]
}

// RequestURL rebuilds the URL the client used, honouring X-Forwarded-Host
// and X-Forwarded-Proto; baseURL supplies the scheme otherwise.
func RequestURL(r *http.Request, baseURL string) string {
	scheme := "http"
	if b, err := url.Parse(baseURL); err == nil && b.Scheme != "" {
		scheme = b.Scheme
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = strings.TrimSpace(strings.Split(h, ",")[0])
	}
	return scheme + "://" + host + r.URL.RequestURI()
}

// ErrReturnToForbidden is the 400 of a return_to outside the allow-list.
var ErrReturnToForbidden = errx.New(errx.Invalid, "Requested return_to URL is not allowed.").WithID("self_service_flow_return_to_forbidden")

// CheckReturnTo validates a return_to URL against the allow-list: the
// project's own base URL plus the configured entries. An entry matches on
// scheme, host (a leading "*." matches any subdomain) and path prefix. A
// relative return_to is resolved against the base URL. It returns the
// absolute URL, "" for an empty return_to, or ErrReturnToForbidden.
func CheckReturnTo(returnTo, baseURL string, allowed []string) (string, error) {
	if returnTo == "" {
		return "", nil
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		return "", ErrReturnToForbidden
	}
	u, err := base.Parse(returnTo)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", ErrReturnToForbidden
	}
	for _, a := range append([]string{baseURL}, allowed...) {
		au, err := url.Parse(a)
		if err != nil || au.Host == "" {
			continue
		}
		if !strings.EqualFold(au.Scheme, u.Scheme) || !hostMatches(au.Host, u.Host) {
			continue
		}
		if prefix := strings.TrimSuffix(au.Path, "/"); prefix != "" && u.Path != prefix && !strings.HasPrefix(u.Path, prefix+"/") {
			continue
		}
		return u.String(), nil
	}
	return "", ErrReturnToForbidden
}

func hostMatches(pattern, host string) bool {
	pattern, host = strings.ToLower(pattern), strings.ToLower(host)
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+rest)
	}
	return pattern == host
}
