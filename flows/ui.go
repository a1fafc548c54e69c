package flows

import (
	"encoding/json"
	"net/http"
	"slices"
)

// Group is the method a node belongs to; UI kits filter nodes by it.
type Group string

// Node groups.
const (
	GroupDefault         Group = "default"
	GroupPassword        Group = "password"
	GroupProfile         Group = "profile"
	GroupOIDC            Group = "oidc"
	GroupLink            Group = "link"
	GroupCode            Group = "code"
	GroupTOTP            Group = "totp"
	GroupLookupSecret    Group = "lookup_secret"
	GroupWebAuthn        Group = "webauthn"
	GroupPasskey         Group = "passkey"
	GroupIdentifierFirst Group = "identifier_first"
)

// NodeType is a node's element type.
type NodeType string

// Node types.
const (
	NodeInput  NodeType = "input"
	NodeText   NodeType = "text"
	NodeImage  NodeType = "img"
	NodeAnchor NodeType = "a"
	NodeScript NodeType = "script"
)

// Input types.
const (
	InputText     = "text"
	InputPassword = "password"
	InputNumber   = "number"
	InputCheckbox = "checkbox"
	InputHidden   = "hidden"
	InputEmail    = "email"
	InputTel      = "tel"
	InputSubmit   = "submit"
	InputButton   = "button"
	InputDateTime = "datetime-local"
	InputDate     = "date"
	InputURL      = "url"
)

// Container is a flow's ui: where and how to submit, the nodes, and the
// flow-level messages (omitted when empty).
type Container struct {
	Action   string  `json:"action"`
	Method   string  `json:"method"`
	Nodes    []*Node `json:"nodes"`
	Messages []*Text `json:"messages,omitempty"`
}

// NewContainer returns an empty POST container.
func NewContainer(action string) *Container {
	return &Container{Action: action, Method: http.MethodPost, Nodes: []*Node{}}
}

// Meta holds a node's label.
type Meta struct {
	Label *Text `json:"label,omitempty"`
}

// Node is one element of a form. Attributes is one of InputAttributes,
// TextAttributes, ImageAttributes, AnchorAttributes, ScriptAttributes.
type Node struct {
	Type       NodeType `json:"type"`
	Group      Group    `json:"group"`
	Attributes any      `json:"attributes"`
	Messages   []*Text  `json:"messages"`
	Meta       Meta     `json:"meta"`
}

// InputAttributes are the attributes of an input node. Value is omitted
// when nil (an empty string is kept).
type InputAttributes struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Value          any    `json:"value,omitempty"`
	Required       bool   `json:"required,omitempty"`
	Autocomplete   string `json:"autocomplete,omitempty"`
	Label          *Text  `json:"label,omitempty"`
	Pattern        string `json:"pattern,omitempty"`
	Disabled       bool   `json:"disabled"`
	OnClick        string `json:"onclick,omitempty"`
	OnClickTrigger string `json:"onclickTrigger,omitempty"`
	OnLoad         string `json:"onload,omitempty"`
	OnLoadTrigger  string `json:"onloadTrigger,omitempty"`
	MaxLength      int    `json:"maxlength,omitempty"`
	NodeType       string `json:"node_type"`
}

// TextAttributes show a text (e.g. a TOTP secret or lookup codes).
type TextAttributes struct {
	Text     *Text  `json:"text"`
	ID       string `json:"id"`
	NodeType string `json:"node_type"`
}

// ImageAttributes show an image (e.g. a TOTP QR code as a data URL).
type ImageAttributes struct {
	Src      string `json:"src"`
	ID       string `json:"id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	NodeType string `json:"node_type"`
}

// AnchorAttributes show a link.
type AnchorAttributes struct {
	Href     string `json:"href"`
	Title    *Text  `json:"title"`
	ID       string `json:"id"`
	NodeType string `json:"node_type"`
}

// ScriptAttributes load a script (WebAuthn).
type ScriptAttributes struct {
	Src            string `json:"src"`
	Async          bool   `json:"async"`
	ReferrerPolicy string `json:"referrerpolicy"`
	CrossOrigin    string `json:"crossorigin"`
	Integrity      string `json:"integrity"`
	Type           string `json:"type"`
	ID             string `json:"id"`
	Nonce          string `json:"nonce"`
	NodeType       string `json:"node_type"`
}

// NewInput returns an input node. label may be nil.
func NewInput(g Group, name, typ string, value any, label *Text) *Node {
	return &Node{Type: NodeInput, Group: g, Messages: []*Text{}, Meta: Meta{Label: label},
		Attributes: &InputAttributes{Name: name, Type: typ, Value: value, NodeType: string(NodeInput)}}
}

// NewSubmit returns the submit button of a method: name "method", value
// the method id.
func NewSubmit(g Group, method string, label *Text) *Node {
	return NewInput(g, "method", InputSubmit, method, label)
}

// NewText returns a text node.
func NewText(g Group, id string, t *Text) *Node {
	return &Node{Type: NodeText, Group: g, Messages: []*Text{}, Meta: Meta{},
		Attributes: &TextAttributes{Text: t, ID: id, NodeType: string(NodeText)}}
}

// NewImage returns an image node.
func NewImage(g Group, id, src string, w, h int, label *Text) *Node {
	return &Node{Type: NodeImage, Group: g, Messages: []*Text{}, Meta: Meta{Label: label},
		Attributes: &ImageAttributes{Src: src, ID: id, Width: w, Height: h, NodeType: string(NodeImage)}}
}

// NewAnchor returns a link node.
func NewAnchor(g Group, id, href string, title *Text) *Node {
	return &Node{Type: NodeAnchor, Group: g, Messages: []*Text{}, Meta: Meta{Label: title},
		Attributes: &AnchorAttributes{Href: href, Title: title, ID: id, NodeType: string(NodeAnchor)}}
}

// NewScript returns a script node.
func NewScript(g Group, id, src, integrity, nonce string) *Node {
	return &Node{Type: NodeScript, Group: g, Messages: []*Text{}, Meta: Meta{},
		Attributes: &ScriptAttributes{Src: src, Async: true, ReferrerPolicy: "no-referrer", CrossOrigin: "anonymous",
			Integrity: integrity, Type: "text/javascript", ID: id, Nonce: nonce, NodeType: string(NodeScript)}}
}

// Input returns n's input attributes, or nil for another node type.
func (n *Node) Input() *InputAttributes {
	a, _ := n.Attributes.(*InputAttributes)
	return a
}

// Name is the node's input name or element id.
func (n *Node) Name() string {
	switch a := n.Attributes.(type) {
	case *InputAttributes:
		return a.Name
	case *TextAttributes:
		return a.ID
	case *ImageAttributes:
		return a.ID
	case *AnchorAttributes:
		return a.ID
	case *ScriptAttributes:
		return a.ID
	}
	return ""
}

// Add appends nodes.
func (c *Container) Add(nodes ...*Node) { c.Nodes = append(c.Nodes, nodes...) }

// Find returns the first node with this name (and group, when not empty).
func (c *Container) Find(name string, g Group) *Node {
	for _, n := range c.Nodes {
		if n.Name() == name && (g == "" || n.Group == g) {
			return n
		}
	}
	return nil
}

// Upsert replaces the node with n's name and group, or appends n.
func (c *Container) Upsert(n *Node) {
	for i, old := range c.Nodes {
		if old.Name() == n.Name() && old.Group == n.Group {
			c.Nodes[i] = n
			return
		}
	}
	c.Add(n)
}

// RemoveGroup drops every node of a group.
func (c *Container) RemoveGroup(g Group) {
	c.Nodes = slices.DeleteFunc(c.Nodes, func(n *Node) bool { return n.Group == g })
}

// SetValue sets the value of every input called name (keeping what a user
// typed after a validation error). Password inputs are never echoed.
func (c *Container) SetValue(name string, v any) {
	for _, n := range c.Nodes {
		if a := n.Input(); a != nil && a.Name == name && a.Type != InputPassword && a.Type != InputSubmit {
			a.Value = v
		}
	}
}

// AddMessage adds a flow-level message.
func (c *Container) AddMessage(t *Text) { c.Messages = append(c.Messages, t) }

// AddNodeMessage attaches a message to the node called name, or to the
// flow when there is none.
func (c *Container) AddNodeMessage(name string, t *Text) {
	for _, n := range c.Nodes {
		if n.Name() == name && n.Type == NodeInput && n.Input().Type != InputSubmit {
			n.Messages = append(n.Messages, t)
			return
		}
	}
	c.AddMessage(t)
}

// ResetMessages clears flow and node messages (before a new submit's
// outcome is written).
func (c *Container) ResetMessages() {
	c.Messages = nil
	for _, n := range c.Nodes {
		n.Messages = []*Text{}
	}
}

// UnmarshalJSON restores a stored container with typed attributes.
func (n *Node) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type       NodeType        `json:"type"`
		Group      Group           `json:"group"`
		Attributes json.RawMessage `json:"attributes"`
		Messages   []*Text         `json:"messages"`
		Meta       Meta            `json:"meta"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	n.Type, n.Group, n.Messages, n.Meta = raw.Type, raw.Group, raw.Messages, raw.Meta
	if n.Messages == nil {
		n.Messages = []*Text{}
	}
	var dst any
	switch raw.Type {
	case NodeInput:
		dst = &InputAttributes{}
	case NodeText:
		dst = &TextAttributes{}
	case NodeImage:
		dst = &ImageAttributes{}
	case NodeAnchor:
		dst = &AnchorAttributes{}
	case NodeScript:
		dst = &ScriptAttributes{}
	default:
		dst = &map[string]any{}
	}
	if err := json.Unmarshal(raw.Attributes, dst); err != nil {
		return err
	}
	n.Attributes = dst
	return nil
}
