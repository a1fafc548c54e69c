package courier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// SMTP security modes.
const (
	SecuritySTARTTLS      = "starttls"      // STARTTLS required
	SecurityTLS           = "tls"           // implicit TLS (smtps)
	SecurityNone          = "none"          // plain text
	securityOpportunistic = "opportunistic" // STARTTLS when offered (platform URL only)
)

// smtpTarget is where and how one message goes out.
type smtpTarget struct {
	Host, Security     string
	Port               int
	Username, Password string
	From               string
	platform           bool // the platform default: may reach private addresses
}

// parseSMTPURL reads the platform default: smtp://[user:pass@]host[:port]
// (STARTTLS: mandatory, except opportunistic on loopback hosts; override
// with ?starttls=mandatory|opportunistic|none) or smtps:// (implicit TLS).
func parseSMTPURL(s string) (smtpTarget, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return smtpTarget{}, fmt.Errorf("not an smtp:// or smtps:// URL")
	}
	t := smtpTarget{Host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		t.Port, t.Security = 587, SecuritySTARTTLS
		if isLoopbackName(t.Host) {
			t.Security = securityOpportunistic
		}
		switch u.Query().Get("starttls") {
		case "":
		case "mandatory":
			t.Security = SecuritySTARTTLS
		case "opportunistic":
			t.Security = securityOpportunistic
		case "none":
			t.Security = SecurityNone
		default:
			return t, fmt.Errorf("starttls must be mandatory, opportunistic or none")
		}
	case "smtps":
		t.Port, t.Security = 465, SecurityTLS
	default:
		return t, fmt.Errorf("scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return t, fmt.Errorf("bad port %q", p)
		}
		t.Port = n
	}
	if u.User != nil {
		t.Username = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	return t, nil
}

func isLoopbackName(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// refusePrivate is a dialer Control that keeps hosted projects' SMTP
// settings from reaching loopback, private or link-local addresses.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
		return fmt.Errorf("the SMTP server address %s is private or loopback, which hosted projects may not use", host)
	}
	return nil
}

// outgoing is one email to send.
type outgoing struct {
	MessageID string
	To        string
	Subject   string
	Text      string
	HTML      string
}

// send delivers one email through t and returns the server's error text.
func (s *Service) send(ctx context.Context, t smtpTarget, m outgoing) error {
	msg := gomail.NewMsg()
	if err := msg.From(t.From); err != nil {
		return fmt.Errorf("sender %q: %w", t.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID + "@courier.lanyard")
		msg.SetGenHeader("X-Lanyard-Message-Id", m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	opts := []gomail.Option{gomail.WithPort(t.Port), gomail.WithTimeout(s.o.SendTimeout)}
	switch t.Security {
	case SecurityTLS:
		opts = append(opts, gomail.WithSSL())
	case SecuritySTARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case securityOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if t.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(t.Username), gomail.WithPassword(t.Password))
	}
	if !t.platform && !s.o.AllowPrivateSMTP {
		d := &net.Dialer{Timeout: s.o.SendTimeout, Control: refusePrivate}
		opts = append(opts, gomail.WithDialContextFunc(d.DialContext))
	}
	c, err := gomail.NewClient(t.Host, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.SendTimeout)
	defer cancel()
	return c.DialAndSendWithContext(ctx, msg)
}

// SMTPSettings are a project's own SMTP server. Password is write-only:
// reads leave it empty and set HasPassword; a save with an empty Password
// keeps the stored one.
type SMTPSettings struct {
	Host        string    `json:"host"`
	Port        int       `json:"port"`
	Security    string    `json:"security"` // starttls | tls | none
	Username    string    `json:"username"`
	Password    string    `json:"password,omitempty"`
	HasPassword bool      `json:"has_password"`
	From        string    `json:"from_address"` // "" = the platform sender
	UpdatedAt   time.Time `json:"updated_at"`
}

func (st *SMTPSettings) validate() error {
	st.Host = strings.TrimSpace(st.Host)
	if st.Host == "" || len(st.Host) > 253 || strings.ContainsAny(st.Host, "/:@ ") && net.ParseIP(st.Host) == nil {
		return errx.New(errx.Invalid, "The SMTP host must be a host name or an IP address.")
	}
	if st.Port < 1 || st.Port > 65535 {
		return errx.New(errx.Invalid, "The SMTP port must be between 1 and 65535.")
	}
	switch st.Security {
	case "":
		st.Security = SecuritySTARTTLS
	case SecuritySTARTTLS, SecurityTLS, SecurityNone:
	default:
		return errx.New(errx.Invalid, "The SMTP security must be starttls, tls or none.")
	}
	if st.From != "" {
		if _, err := mail.ParseAddress(st.From); err != nil {
			return errx.Newf(errx.Invalid, "The sender %q is not an email address.", st.From)
		}
	}
	return nil
}

func smtpAAD(p *tenant.Project) []byte { return append([]byte("smtp-password\x00"), p.ID[:]...) }

// ErrNoSMTPSettings answers a read of settings a project does not have.
var ErrNoSMTPSettings = errx.New(errx.NotFound, "The project uses the platform's SMTP server.")

// SMTPSettings returns the project's own SMTP settings, or ErrNoSMTPSettings.
func (s *Service) SMTPSettings(ctx context.Context, p *tenant.Project) (*SMTPSettings, error) {
	var st *SMTPSettings
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		st, _, _, err = loadSMTP(ctx, tx)
		return err
	})
	return st, err
}

func loadSMTP(ctx context.Context, tx tenant.Tx) (st *SMTPSettings, sealed []byte, keyID string, err error) {
	st = &SMTPSettings{}
	err = tx.QueryRow(ctx, `SELECT host, port, security, username, password_enc, key_id, from_address, updated_at
		FROM courier_smtp_settings`).Scan(&st.Host, &st.Port, &st.Security, &st.Username, &sealed, &keyID, &st.From, &st.UpdatedAt)
	if err != nil {
		return nil, nil, "", tenant.NotFoundIfNoRows(err, ErrNoSMTPSettings.Reason)
	}
	st.HasPassword = len(sealed) > 0
	return st, sealed, keyID, nil
}

// SaveSMTPSettings validates and stores the project's SMTP settings, the
// password sealed with the current key.
func (s *Service) SaveSMTPSettings(ctx context.Context, p *tenant.Project, st SMTPSettings) error {
	if err := st.validate(); err != nil {
		return err
	}
	var sealed []byte
	var keyID string
	if st.Password != "" {
		sealed, keyID = s.keys.seal([]byte(st.Password), smtpAAD(p))
	}
	err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO courier_smtp_settings (host, port, security, username, password_enc, key_id, from_address)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (singleton) DO UPDATE SET
			host = excluded.host, port = excluded.port, security = excluded.security, username = excluded.username,
			password_enc = CASE WHEN $8 THEN excluded.password_enc ELSE courier_smtp_settings.password_enc END,
			key_id = CASE WHEN $8 THEN excluded.key_id ELSE courier_smtp_settings.key_id END,
			from_address = excluded.from_address, updated_at = now()`,
			st.Host, st.Port, st.Security, st.Username, sealed, keyID, st.From, st.Password != "")
		return err
	})
	if err != nil {
		return fmt.Errorf("courier.SaveSMTPSettings: %w", err)
	}
	return nil
}

// DeleteSMTPSettings returns the project to the platform's SMTP server.
func (s *Service) DeleteSMTPSettings(ctx context.Context, p *tenant.Project) error {
	return s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM courier_smtp_settings`)
		return err
	})
}

// target is the SMTP server of the project: its own settings, or the
// platform default.
func (s *Service) target(ctx context.Context, tx tenant.Tx) (smtpTarget, error) {
	st, sealed, keyID, err := loadSMTP(ctx, tx)
	if errx.Has(err, errx.NotFound) {
		return s.def, nil
	}
	if err != nil {
		return smtpTarget{}, err
	}
	t := smtpTarget{Host: st.Host, Port: st.Port, Security: st.Security, Username: st.Username, From: st.From}
	if t.From == "" {
		t.From = s.o.MailFrom
	}
	if len(sealed) > 0 {
		plain, err := s.keys.open(sealed, keyID, smtpAAD(tx.Project()))
		if err != nil {
			return smtpTarget{}, err
		}
		t.Password = string(plain)
	}
	return t, nil
}

// ErrTestMailFailed matches (errors.Is) the answer to a test mail the
// server did not take; that answer's reason and details.smtp_error carry
// the server's error text.
var ErrTestMailFailed = errx.New(errx.Invalid, "The test email could not be sent.").WithID("smtp_test_failed")

// SendTest sends a test email to "to" through the project's SMTP server —
// with (unsaved settings being tried; an empty password keeps the stored
// one) or the saved settings / platform default when with is nil. A
// refusal is ErrTestMailFailed with the SMTP error text in its reason.
func (s *Service) SendTest(ctx context.Context, p *tenant.Project, to string, with *SMTPSettings) error {
	if _, err := mail.ParseAddress(to); err != nil {
		return errx.Newf(errx.Invalid, "The recipient %q is not an email address.", to)
	}
	var t smtpTarget
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		t, err = s.target(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("courier.SendTest: %w", err)
	}
	if with != nil {
		st := *with
		if err := st.validate(); err != nil {
			return err
		}
		pw := st.Password
		if pw == "" && !t.platform {
			pw = t.Password
		}
		from := st.From
		if from == "" {
			from = s.o.MailFrom
		}
		t = smtpTarget{Host: st.Host, Port: st.Port, Security: st.Security, Username: st.Username, Password: pw, From: from}
	}
	err = s.send(ctx, t, outgoing{To: to, Subject: "Lanyard test email",
		Text: "This is a test email from Lanyard: the SMTP settings of project " + p.Name + " work.\n"})
	if err != nil {
		var xe *errx.Error
		if errors.As(err, &xe) {
			return err
		}
		return errx.Newf(errx.Invalid, "The test email could not be sent: %s", err.Error()).WithID(ErrTestMailFailed.ID).
			WithDetails(map[string]any{"smtp_error": err.Error()})
	}
	return nil
}
