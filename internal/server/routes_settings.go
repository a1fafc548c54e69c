package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// settingsRoutes lists the project settings endpoints (Lanyard):
//   - GET/PATCH /admin/config: the authentication settings an admin may
//     change (flows.AdminConfig). Flows read their configuration on every
//     request, so a change applies at once; the session configuration is
//     kept in memory for a few seconds by each API process (it is dropped
//     at once in the process that saved it).
//   - PUT /admin/schemas/{id}: create or replace an identity schema.
func settingsRoutes(d Deps, admin *gin.RouterGroup) {
	admin.GET("/config", httpx.Wrap(getAdminConfig(d)))
	admin.PATCH("/config", httpx.Wrap(patchAdminConfig(d)))
	admin.PUT("/schemas/:id", httpx.Wrap(putSchema(d)))
}

func getAdminConfig(d Deps) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		var v flows.AdminConfig
		err = d.DB.InTxOpts(c.Request.Context(), p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
			v, err = flows.LoadAdminConfig(c.Request.Context(), tx)
			return err
		})
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, v)
		return nil
	}
}

func patchAdminConfig(d Deps) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		var patch flows.AdminConfigPatch
		if err := decodeSettings(c, &patch); err != nil {
			return err
		}
		var v flows.AdminConfig
		err = d.DB.InTx(c.Request.Context(), p, func(tx tenant.Tx) (err error) {
			v, err = flows.PatchAdminConfig(c.Request.Context(), tx, patch)
			return err
		})
		if err != nil {
			return err
		}
		if d.Sessions != nil {
			d.Sessions.ForgetConfig(p)
		}
		c.JSON(http.StatusOK, v)
		return nil
	}
}

// decodeSettings reads a strict JSON body into v; a wrong type or an
// unknown field is a FieldError naming it.
func decodeSettings(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return errx.New(errx.Invalid, "The request body is not valid JSON: unexpected data after the JSON value")
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return errx.New(errx.TooLarge, "The request body exceeds the configured limit.")
	case errors.As(err, &te) && te.Field != "":
		return flows.FieldError(te.Field, "must be a %s.", jsonKind(te.Type.String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return flows.FieldError(f, "is not a setting.")
	case errors.Is(err, io.EOF):
		return errx.New(errx.Invalid, "The request body is not valid JSON: empty body")
	}
	return errx.Newf(errx.Invalid, "The request body is not valid JSON: %s", err.Error())
}

func jsonKind(goType string) string {
	switch {
	case goType == "bool":
		return "boolean"
	case goType == "string":
		return "string"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "number"
	case strings.HasPrefix(goType, "[]"):
		return "list"
	}
	return "object"
}

// maxSchemaBytes bounds an identity schema.
const maxSchemaBytes = 256 << 10

// putSchema answers PUT /admin/schemas/{id} (Lanyard): the body is the
// JSON Schema itself; ?default=true makes it the project's default. It
// answers 200 with {"id","schema"}, or 400 invalid_identity_schema with
// the reason (for a body that is not JSON, details.line and
// details.column of the error) and stores nothing.
func putSchema(d Deps) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(io.LimitReader(c.Request.Body, maxSchemaBytes+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errx.New(errx.TooLarge, "The request body exceeds the configured limit.")
			}
			return errx.New(errx.Invalid, "The request body could not be read.")
		}
		if len(raw) > maxSchemaBytes {
			return errx.New(errx.TooLarge, "An identity schema may have at most 256 KiB.")
		}
		if err := checkSchemaJSON(raw); err != nil {
			return err
		}
		id := c.Param("id")
		sch, err := schema.Compile(id, raw)
		if err != nil {
			return err
		}
		if !hasIdentifier(sch) {
			e := *schema.ErrInvalidSchema
			e.Reason = "The identity schema is invalid: no trait is a login identifier; mark one with " +
				`"ory.sh/kratos": {"credentials": {"password": {"identifier": true}}} (or code / webauthn).`
			return &e
		}
		def := c.Query("default") == "true"
		if err := d.Identities.SaveSchema(c.Request.Context(), p, id, raw, def); err != nil {
			return err
		}
		c.JSON(http.StatusOK, identity.StoredSchema{ID: id, Schema: json.RawMessage(raw)})
		return nil
	}
}

// checkSchemaJSON refuses a body that is not one JSON value, with the line
// and column (1-based) of the error.
func checkSchemaJSON(raw []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	err := dec.Decode(&v)
	offset := int64(-1)
	reason := ""
	var se *json.SyntaxError
	switch {
	case err == nil && dec.More():
		offset, reason = dec.InputOffset(), "unexpected data after the JSON value"
		// Skip the whitespace the decoder stopped before.
		for offset < int64(len(raw)) && strings.ContainsRune(" \t\r\n", rune(raw[offset])) {
			offset++
		}
	case err == nil:
		return nil
	case errors.As(err, &se):
		offset, reason = se.Offset, se.Error()
		if offset > 0 {
			offset-- // Offset is after the offending byte
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		offset, reason = int64(len(raw)), "unexpected end of JSON input"
	default:
		reason = err.Error()
	}
	line, col := 1, 1
	if offset >= 0 {
		for _, b := range raw[:min(offset, int64(len(raw)))] {
			if b == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
	}
	e := *schema.ErrInvalidSchema
	e.Reason = "The identity schema is not valid JSON: line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ": " + reason
	e.Details = map[string]any{"line": line, "column": col}
	return &e
}

// hasIdentifier reports whether some trait identifies an identity at
// login.
func hasIdentifier(s *schema.Schema) bool {
	for _, f := range s.Fields {
		c := f.Ext.Credentials
		if (c.Password != nil && c.Password.Identifier) || (c.Code != nil && c.Code.Identifier) ||
			(c.WebAuthn != nil && c.WebAuthn.Identifier) {
			return true
		}
	}
	return false
}
