package schema

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ExtensionKey is the keyword of the Kratos extension on a trait property.
const ExtensionKey = "ory.sh/kratos"

// Extension is the "ory.sh/kratos" object of one trait property.
type Extension struct {
	Credentials struct {
		Password *struct {
			Identifier bool `json:"identifier"`
		} `json:"password"`
		WebAuthn *struct {
			Identifier bool `json:"identifier"`
		} `json:"webauthn"`
		Passkey *struct {
			DisplayName bool `json:"display_name"`
		} `json:"passkey"`
		TOTP *struct {
			AccountName bool `json:"account_name"`
		} `json:"totp"`
		Code *struct {
			Identifier bool   `json:"identifier"`
			Via        string `json:"via"`
		} `json:"code"`
	} `json:"credentials"`
	Verification  *Via `json:"verification"`
	Recovery      *Via `json:"recovery"`
	Organizations *struct {
		Matcher string `json:"matcher"`
	} `json:"organizations"`
}

// Via says which channel an address uses: "email" or "sms".
type Via struct {
	Via string `json:"via"`
}

// extensionSchema is what an "ory.sh/kratos" value must look like (after
// ory/kratos embedx/identity_extension.schema.json, with unknown keys
// refused so that typos do not pass silently).
const extensionSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "credentials": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "password": {"$ref": "#/$defs/identifier"},
        "webauthn": {"$ref": "#/$defs/identifier"},
        "passkey": {"type": "object", "additionalProperties": false, "properties": {"display_name": {"type": "boolean"}}},
        "totp": {"type": "object", "additionalProperties": false, "properties": {"account_name": {"type": "boolean"}}},
        "code": {"type": "object", "additionalProperties": false, "properties": {
          "identifier": {"type": "boolean"}, "via": {"enum": ["email", "sms"]}}}
      }
    },
    "verification": {"$ref": "#/$defs/via"},
    "recovery": {"$ref": "#/$defs/via"},
    "organizations": {"type": "object", "additionalProperties": false, "required": ["matcher"],
      "properties": {"matcher": {"enum": ["email_domain"]}}}
  },
  "$defs": {
    "identifier": {"type": "object", "additionalProperties": false, "properties": {"identifier": {"type": "boolean"}}},
    "via": {"type": "object", "additionalProperties": false, "required": ["via"], "properties": {"via": {"enum": ["email", "sms"]}}}
  }
}`

var extensionValidator = func() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(extensionSchema))
	if err != nil {
		panic(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://schemas.lanyard.invalid/extension.json", doc); err != nil {
		panic(err)
	}
	return c.MustCompile("https://schemas.lanyard.invalid/extension.json")
}()

func parseExtension(raw any, path []string) (Extension, error) {
	var ext Extension
	where := "traits." + strings.Join(path, ".")
	if err := extensionValidator.Validate(raw); err != nil {
		var ve *jsonschema.ValidationError
		if ok := asValidationError(err, &ve); ok {
			return ext, refuse(`%s: "%s" %s`, where, ExtensionKey, strings.Join(leafTexts(ve), "; "))
		}
		return ext, refuse(`%s: "%s" is invalid: %v`, where, ExtensionKey, err)
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &ext); err != nil {
		return ext, refuse(`%s: "%s" is invalid: %v`, where, ExtensionKey, err)
	}
	return ext, nil
}

func asValidationError(err error, target **jsonschema.ValidationError) bool {
	ve, ok := err.(*jsonschema.ValidationError)
	if ok {
		*target = ve
	}
	return ok
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
