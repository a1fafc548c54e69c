package flows

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Body is a decoded submit: the JSON object, and the two fields every
// flow reads before choosing a strategy.
type Body struct {
	Raw       json.RawMessage
	Method    string
	CSRFToken string
}

// maxFormFields bounds the fields of a form submit.
const maxFormFields = 256

// DecodeBody reads a submit as JSON: a JSON body as is (it must be an
// object), a form (application/x-www-form-urlencoded or multipart) with
// dotted names nested (traits.name.first → {"traits":{"name":{"first":…}}}).
// A malformed or oversized body gives a 4000001 text for a 400 flow.
func DecodeBody(r *http.Request) (*Body, *Text) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var obj map[string]any
	switch ct {
	case "application/json":
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, bodyReadError(err)
		}
		if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
			return nil, Generic("The request body is not a valid JSON object.")
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, bodyReadError(err)
		}
		if len(r.PostForm) > maxFormFields {
			return nil, Generic("The form has too many fields.")
		}
		obj = map[string]any{}
		for k, vs := range r.PostForm {
			if len(vs) == 0 {
				continue
			}
			if !setDotted(obj, k, vs[len(vs)-1]) {
				return nil, Generic("The form field " + truncate(k, 64) + " conflicts with another field.")
			}
		}
	case "":
		if r.ContentLength == 0 {
			obj = map[string]any{}
			break
		}
		fallthrough
	default:
		return nil, Generic("The request Content-Type must be application/json or application/x-www-form-urlencoded.")
	}
	raw, _ := json.Marshal(obj)
	b := &Body{Raw: raw}
	b.Method, _ = obj["method"].(string)
	b.CSRFToken, _ = obj["csrf_token"].(string)
	return b, nil
}

func bodyReadError(err error) *Text {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Generic("The request body is too large.")
	}
	return Generic("The request body could not be read.")
}

// setDotted sets obj[a][b][c] = v for the name "a.b.c". It refuses a name
// that would overwrite a value with an object or the reverse.
func setDotted(obj map[string]any, name string, v string) bool {
	parts := strings.Split(name, ".")
	cur := obj
	for i, p := range parts {
		if p == "" {
			return false
		}
		if i == len(parts)-1 {
			if _, isObj := cur[p].(map[string]any); isObj {
				return false
			}
			cur[p] = v
			return true
		}
		next, ok := cur[p]
		if !ok {
			m := map[string]any{}
			cur[p] = m
			cur = m
			continue
		}
		m, isObj := next.(map[string]any)
		if !isObj {
			return false
		}
		cur = m
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
