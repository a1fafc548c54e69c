package hook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Signature headers. The signature is hex(HMAC-SHA256(secret, t + "." +
// body)) where t is the Unix time in seconds also sent in the header;
// receivers should recompute it over the raw body and refuse a t older than
// a few minutes.
const (
	HeaderSignature  = "Lanyard-Signature"
	HeaderWebhookID  = "Lanyard-Webhook-Id"
	HeaderDeliveryID = "Lanyard-Delivery-Id"
)

// MaxResponseBytes caps what is read of a webhook's answer.
const MaxResponseBytes = 64 << 10

// Sign returns the Lanyard-Signature header value of body at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBlockedAddress is a webhook address that hosted projects may not reach.
var ErrBlockedAddress = errors.New("the webhook address is loopback, private, link-local or otherwise internal, which hosted projects may not reach")

var blockedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32",
		"fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Blocked reports whether hosted projects may not reach ip.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// refuseBlocked is a dialer Control: it runs on the resolved address of
// every connection, including those of redirects.
func refuseBlocked(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || Blocked(ip) {
		return fmt.Errorf("%w (%s)", ErrBlockedAddress, host)
	}
	return nil
}

// Client sends webhook requests.
type Client struct {
	// AllowPrivate lets webhooks reach loopback and private addresses
	// (self-hosting, tests); hosted deployments leave it off.
	AllowPrivate bool
	http         *http.Client
	resolver     *net.Resolver
}

// NewClient returns a client; allowPrivate turns the address guard off.
func NewClient(allowPrivate bool) *Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		d.Control = refuseBlocked
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would hide the real address from the guard
		DialContext:           d.DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: MaxTimeoutMS * time.Millisecond,
	}
	return &Client{AllowPrivate: allowPrivate, resolver: net.DefaultResolver, http: &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
			}
			return nil
		},
	}}
}

// CheckURL refuses, in hosted mode, a URL whose host is or resolves to a
// blocked address (the dialer checks again on every connection).
func (c *Client) CheckURL(ctx context.Context, raw string) error {
	if c.AllowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if Blocked(ip) {
			return ErrBlockedAddress
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := c.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil // unresolvable now; the dialer decides at call time
	}
	for _, a := range addrs {
		if Blocked(a) {
			return ErrBlockedAddress
		}
	}
	return nil
}

// request is one webhook call.
type request struct {
	URL, Method string
	Headers     map[string]string
	Auth        *WebhookAuth
	AuthCred    string
	Secret      string
	HookID      string
	DeliveryID  string
	Body        []byte
	Timeout     time.Duration
}

// response is how a call ended: Err is set when no complete answer came
// (Timeout tells a timeout apart).
type response struct {
	Status  int
	Body    []byte
	Latency time.Duration
	Err     error
	Timeout bool
}

// errTooLarge is an answer over MaxResponseBytes.
var errTooLarge = fmt.Errorf("the answer is larger than %d bytes", MaxResponseBytes)

// do sends req and reads at most MaxResponseBytes of the answer.
func (c *Client) do(ctx context.Context, req request) response {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return response{Err: err}
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "Lanyard-Webhook/1")
	hr.Header.Set(HeaderWebhookID, req.HookID)
	hr.Header.Set(HeaderDeliveryID, req.DeliveryID)
	hr.Header.Set("Ory-Webhook-Request-ID", req.DeliveryID)
	hr.Header.Set("Ory-Webhook-Trigger-ID", req.HookID)
	if req.Secret != "" {
		hr.Header.Set(HeaderSignature, Sign(req.Secret, time.Now(), req.Body))
	}
	if a := req.Auth; a != nil {
		switch a.Type {
		case "api_key":
			if a.Config.In == "cookie" {
				hr.AddCookie(&http.Cookie{Name: a.Config.Name, Value: req.AuthCred})
			} else {
				hr.Header.Set(a.Config.Name, req.AuthCred)
			}
		case "basic_auth":
			hr.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Config.User+":"+req.AuthCred)))
		}
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return response{Err: err, Timeout: errors.Is(err, context.DeadlineExceeded) || isTimeout(err), Latency: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	out := response{Status: resp.StatusCode, Body: body, Latency: time.Since(start)}
	switch {
	case err != nil:
		out.Err, out.Timeout = err, errors.Is(err, context.DeadlineExceeded) || isTimeout(err)
	case len(body) > MaxResponseBytes:
		out.Body, out.Err = body[:MaxResponseBytes], errTooLarge
	}
	return out
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// excerpt is the start of an answer for the delivery log.
func excerpt(b []byte) string {
	const n = 2048
	if len(b) > n {
		b = b[:n]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// Probe posts a test event to u and returns an error when it cannot be
// delivered (ErrBlockedAddress for an address the guard refuses) or the
// answer is not 2xx.
func (c *Client) Probe(ctx context.Context, u string) error {
	resp := c.do(ctx, request{URL: u, Method: http.MethodPost, Body: []byte(`{"type":"test"}`), HookID: "probe", DeliveryID: "probe",
		Timeout: DefaultTimeoutMS * time.Millisecond})
	if resp.Err != nil {
		return resp.Err
	}
	if resp.Status < 200 || resp.Status >= 300 {
		return fmt.Errorf("the webhook answered %d", resp.Status)
	}
	return nil
}
