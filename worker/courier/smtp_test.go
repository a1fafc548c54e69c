package courier

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]smtpTarget{
		"smtp://127.0.0.1:1025":                             {Host: "127.0.0.1", Port: 1025, Security: securityOpportunistic},
		"smtp://mail.example.com":                           {Host: "mail.example.com", Port: 587, Security: SecuritySTARTTLS},
		"smtp://u:p%40ss@mail.example.com:25?starttls=none": {Host: "mail.example.com", Port: 25, Security: SecurityNone, Username: "u", Password: "p@ss"},
		"smtps://mail.example.com":                          {Host: "mail.example.com", Port: 465, Security: SecurityTLS},
	} {
		got, err := parseSMTPURL(in)
		if err != nil || got != want {
			t.Errorf("parseSMTPURL(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "http://x", "smtp://", "smtp://x:99999", "smtp://x?starttls=maybe"} {
		if _, err := parseSMTPURL(bad); err == nil {
			t.Errorf("parseSMTPURL(%q) accepted", bad)
		}
	}
}

func TestProjectSMTPSettingsSealedAndUsed(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	s := newService(t, nil, p)
	ctx := context.Background()
	password := "hunter2-" + recipient(t)
	// Mailpit accepts any credentials only over TLS, so the project server
	// here is Mailpit without auth; the password is still stored sealed.
	err := s.SaveSMTPSettings(ctx, p, SMTPSettings{Host: "127.0.0.1", Port: 1025, Security: SecurityNone,
		Password: password, From: "Acme <hello@acme.test>"})
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	var keyID string
	err = tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) error {
		return tx.QueryRow(ctx, `SELECT password_enc, key_id FROM courier_smtp_settings`).Scan(&sealed, &keyID)
	})
	if err != nil || len(sealed) == 0 || bytes.Contains(sealed, []byte("hunter2")) || keyID == "" {
		t.Fatalf("stored password %q (key %q, %v): want it sealed", sealed, keyID, err)
	}
	st, err := s.SMTPSettings(ctx, p)
	if err != nil || st.Password != "" || !st.HasPassword || st.Port != 1025 {
		t.Fatalf("SMTPSettings = %+v, %v; want the settings without the password", st, err)
	}
	// Saving without a password keeps the stored one.
	st.Port = 1025
	if err := s.SaveSMTPSettings(ctx, p, *st); err != nil {
		t.Fatal(err)
	}
	var target smtpTarget
	_ = tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) (err error) { target, err = s.target(ctx, tx); return err })
	if target.Password != password || target.From != "Acme <hello@acme.test>" || target.platform {
		t.Fatalf("target %+v: want the project's server with the unsealed password", target)
	}
	// Mail goes out through the project's server, from its sender.
	startWorker(t, s)
	to := recipient(t)
	id, err := s.Send(ctx, p, Message{Recipient: to, Subject: "Hello", Body: "From Acme"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, p, id, StatusSent, 5*time.Second)
	got := waitInbox(t, to, 1, 5*time.Second)
	if len(got) != 1 || got[0].Subject != "Hello" {
		t.Fatalf("inbox %+v, want the generic message", got)
	}
	// Another project's service (same secrets) cannot open this project's
	// sealed password as its own: the sealing is bound to the project.
	q := tenanttest.NewProject(t).Project
	if _, err := s.keys.open(sealed, keyID, smtpAAD(q)); err == nil {
		t.Error("a password sealed for project A opened for project B")
	}
	// Rotation: a service whose current secret is new still opens it.
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	rotated := newService(t, func(o *Options) { o.Secrets = append([][]byte{fresh}, o.Secrets...) })
	_ = tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) (err error) { target, err = rotated.target(ctx, tx); return err })
	if target.Password != password {
		t.Errorf("after rotation the password reads %q", target.Password)
	}
	gone := newService(t, func(o *Options) { o.Secrets = [][]byte{fresh} })
	err = tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) (err error) { _, err = gone.target(ctx, tx); return err })
	if !errors.Is(err, errNoKey) {
		t.Errorf("with the old secret removed: %v, want errNoKey", err)
	}
}

func TestSendTest(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	s := newService(t, nil, p)
	ctx := context.Background()
	to := recipient(t)
	if err := s.SendTest(ctx, p, to, nil); err != nil {
		t.Fatalf("SendTest through the platform server: %v", err)
	}
	if got := waitInbox(t, to, 1, 5*time.Second); len(got) != 1 || got[0].Subject != "Lanyard test email" {
		t.Fatalf("inbox %+v, want the test email", got)
	}
	host, port := splitHostPort(t, closedPort(t))
	err := s.SendTest(ctx, p, to, &SMTPSettings{Host: host, Port: port, Security: SecurityNone})
	var xe *errx.Error
	if !errors.Is(err, ErrTestMailFailed) || !errors.As(err, &xe) || !strings.Contains(xe.Reason, "connection refused") {
		t.Fatalf("SendTest to a dead server = %v, want ErrTestMailFailed with the SMTP error", err)
	}
	if err := s.SendTest(ctx, p, "nobody", nil); !errx.Has(err, errx.Invalid) {
		t.Errorf("SendTest to a bad address = %v, want Invalid", err)
	}
	if err := s.SendTest(ctx, p, to, &SMTPSettings{Host: "smtp.example.com", Port: 0}); !errx.Has(err, errx.Invalid) {
		t.Errorf("SendTest with port 0 = %v, want Invalid", err)
	}
	// Hosted projects may not point their SMTP server at private addresses.
	hosted := newService(t, func(o *Options) { o.AllowPrivateSMTP = false })
	err = hosted.SendTest(ctx, p, to, &SMTPSettings{Host: "127.0.0.1", Port: 1025, Security: SecurityNone})
	if !errors.As(err, &xe) || !strings.Contains(xe.Reason, "private or loopback") {
		t.Errorf("SendTest to loopback on a hosted platform = %v, want a refusal", err)
	}
	// The platform's own server may be anywhere.
	if err := hosted.SendTest(ctx, p, to, nil); err != nil {
		t.Errorf("SendTest through the platform server on a hosted platform: %v", err)
	}
}
