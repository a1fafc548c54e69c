package flows

import (
	"fmt"
	"time"
)

// TextType is the kind of a UI text.
type TextType string

// Text types.
const (
	TextInfo    TextType = "info"
	TextError   TextType = "error"
	TextSuccess TextType = "success"
)

// Text is a Kratos uiText: a message id from the catalogue, its English
// text and the context that translations fill placeholders from (the
// context keys are part of the contract with UI kits).
type Text struct {
	ID      int            `json:"id"`
	Text    string         `json:"text"`
	Type    TextType       `json:"type"`
	Context map[string]any `json:"context,omitempty"`
}

// Message ids (Kratos text/id.go). The ranges: 101 login, 102 logout, 103
// MFA, 104 registration, 105 settings, 106 recovery, 107 node labels, 108
// verification, 400 validation, 401 login/no-strategy, 404 registration,
// 405 settings, 406 recovery, 407 verification, 500 system.
const (
	InfoLoginSignIn             = 1010001
	InfoLoginSignInWith         = 1010002
	InfoLoginReAuth             = 1010003
	InfoLoginMFA                = 1010004
	InfoLoginCodeSent           = 1010014
	InfoLoginPassword           = 1010022
	InfoRegistrationSignUp      = 1040001
	InfoRegistrationSignUpWith  = 1040002
	InfoRegistrationCodeSent    = 1040005
	InfoSettingsSaved           = 1050001
	InfoRecoverySuccessful      = 1060001
	InfoRecoveryLinkSent        = 1060002
	InfoRecoveryCodeSent        = 1060003
	InfoNodeLabelPassword       = 1070001
	InfoNodeLabelGenerated      = 1070002
	InfoNodeLabelSave           = 1070003
	InfoNodeLabelID             = 1070004
	InfoNodeLabelSubmit         = 1070005
	InfoNodeLabelVerifyCode     = 1070006
	InfoNodeLabelEmail          = 1070007
	InfoNodeLabelResendCode     = 1070008
	InfoNodeLabelContinue       = 1070009
	InfoNodeLabelRecoveryCode   = 1070010
	InfoNodeLabelVerifyCodeNode = 1070011
	InfoNodeLabelRegCode        = 1070012
	InfoNodeLabelLoginCode      = 1070013
	InfoVerificationLinkSent    = 1080001
	InfoVerificationSuccess     = 1080002
	InfoVerificationCodeSent    = 1080003

	ErrValidationGeneric            = 4000001
	ErrValidationRequired           = 4000002
	ErrValidationMinLength          = 4000003
	ErrValidationPattern            = 4000004
	ErrValidationPasswordPolicy     = 4000005
	ErrValidationInvalidCredentials = 4000006
	ErrValidationDuplicate          = 4000007
	ErrValidationTOTP               = 4000008
	ErrValidationAddressNotVerified = 4000010
	ErrValidationLookupUsed         = 4000012
	ErrValidationLookupInvalid      = 4000016
	ErrValidationMaxLength          = 4000017
	ErrValidationWrongType          = 4000026
	ErrValidationDuplicateHint      = 4000028
	ErrValidationPasswordSimilar    = 4000031
	ErrValidationPasswordTooShort   = 4000032
	ErrValidationPasswordTooLong    = 4000033
	ErrValidationPasswordBreached   = 4000034

	ErrLoginExpired             = 4010001
	ErrLoginNoStrategy          = 4010002
	ErrRegistrationNoStrategy   = 4010003
	ErrSettingsNoStrategy       = 4010004
	ErrRecoveryNoStrategy       = 4010005
	ErrVerificationNoStrategy   = 4010006
	ErrLoginRetrySuccess        = 4010007
	ErrLoginCodeInvalid         = 4010008
	ErrRegistrationExpired      = 4040001
	ErrRegistrationRetrySuccess = 4040002
	ErrRegistrationCodeInvalid  = 4040003
	ErrSettingsExpired          = 4050001
	ErrRecoveryRetrySuccess     = 4060001
	ErrRecoveryTokenInvalid     = 4060004
	ErrRecoveryExpired          = 4060005
	ErrRecoveryCodeInvalid      = 4060006
	ErrVerificationTokenInvalid = 4070001
	ErrVerificationRetrySuccess = 4070002
	ErrVerificationExpired      = 4070005
	ErrVerificationCodeInvalid  = 4070006
	ErrSystemGeneric            = 5000001
)

// catalogue holds the fixed texts (those without placeholders).
var catalogue = map[int]struct {
	typ  TextType
	text string
}{
	InfoLoginSignIn:             {TextInfo, "Sign in"},
	InfoLoginReAuth:             {TextInfo, "Please confirm this action by verifying that it is you."},
	InfoLoginMFA:                {TextInfo, "Please complete the second authentication challenge."},
	InfoLoginCodeSent:           {TextInfo, "An email containing a code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."},
	InfoLoginPassword:           {TextInfo, "Sign in with password"},
	InfoRegistrationSignUp:      {TextInfo, "Sign up"},
	InfoRegistrationCodeSent:    {TextInfo, "An email containing a code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."},
	InfoSettingsSaved:           {TextSuccess, "Your changes have been saved!"},
	InfoRecoveryLinkSent:        {TextInfo, "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."},
	InfoRecoveryCodeSent:        {TextInfo, "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."},
	InfoNodeLabelPassword:       {TextInfo, "Password"},
	InfoNodeLabelSave:           {TextInfo, "Save"},
	InfoNodeLabelID:             {TextInfo, "ID"},
	InfoNodeLabelSubmit:         {TextInfo, "Submit"},
	InfoNodeLabelVerifyCode:     {TextInfo, "Verify code"},
	InfoNodeLabelEmail:          {TextInfo, "Email"},
	InfoNodeLabelResendCode:     {TextInfo, "Resend code"},
	InfoNodeLabelContinue:       {TextInfo, "Continue"},
	InfoNodeLabelRecoveryCode:   {TextInfo, "Recovery code"},
	InfoNodeLabelVerifyCodeNode: {TextInfo, "Verification code"},
	InfoNodeLabelRegCode:        {TextInfo, "Registration code"},
	InfoNodeLabelLoginCode:      {TextInfo, "Login code"},
	InfoVerificationLinkSent:    {TextInfo, "An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."},
	InfoVerificationSuccess:     {TextSuccess, "You successfully verified your email address."},
	InfoVerificationCodeSent:    {TextInfo, "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."},

	ErrValidationInvalidCredentials: {TextError, "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number."},
	ErrValidationDuplicate:          {TextError, "An account with the same identifier (email, phone, username, ...) exists already."},
	ErrValidationTOTP:               {TextError, "The provided authentication code is invalid, please try again."},
	ErrValidationAddressNotVerified: {TextError, "Account not active yet. Did you forget to verify your email address?"},
	ErrValidationLookupUsed:         {TextError, "This backup recovery code has already been used."},
	ErrValidationLookupInvalid:      {TextError, "The backup recovery code is not valid."},
	ErrValidationPasswordSimilar:    {TextError, "The password can not be used because it is too similar to the identifier."},
	ErrValidationPasswordBreached:   {TextError, "The password has been found in data breaches and must no longer be used."},

	ErrLoginNoStrategy:          {TextError, "Could not find a strategy to log you in with. Did you fill out the form correctly?"},
	ErrRegistrationNoStrategy:   {TextError, "Could not find a strategy to sign you up with. Did you fill out the form correctly?"},
	ErrSettingsNoStrategy:       {TextError, "Could not find a strategy to update your settings. Did you fill out the form correctly?"},
	ErrRecoveryNoStrategy:       {TextError, "Could not find a strategy to recover your account with. Did you fill out the form correctly?"},
	ErrVerificationNoStrategy:   {TextError, "Could not find a strategy to verify your account with. Did you fill out the form correctly?"},
	ErrLoginRetrySuccess:        {TextError, "The request was already completed successfully and can not be retried."},
	ErrLoginCodeInvalid:         {TextError, "The login code is invalid or has already been used. Please try again."},
	ErrRegistrationRetrySuccess: {TextError, "The request was already completed successfully and can not be retried."},
	ErrRegistrationCodeInvalid:  {TextError, "The registration code is invalid or has already been used. Please try again."},
	ErrRecoveryRetrySuccess:     {TextError, "The request was already completed successfully and can not be retried."},
	ErrRecoveryTokenInvalid:     {TextError, "The recovery token is invalid or has already been used. Please retry the flow."},
	ErrRecoveryCodeInvalid:      {TextError, "The recovery code is invalid or has already been used. Please try again."},
	ErrVerificationTokenInvalid: {TextError, "The verification token is invalid or has already been used. Please retry the flow."},
	ErrVerificationRetrySuccess: {TextError, "The request was already completed successfully and can not be retried."},
	ErrVerificationCodeInvalid:  {TextError, "The verification code is invalid or has already been used. Please try again."},
}

// Message returns a fixed text of the catalogue. It panics on an id that
// needs a context (use its constructor) — a programming error.
func Message(id int) *Text {
	m, ok := catalogue[id]
	if !ok {
		panic(fmt.Sprintf("flows: message %d has no fixed text", id))
	}
	return &Text{ID: id, Text: m.text, Type: m.typ}
}

// Label is the label of a node, from the schema title (1070002).
func Label(title, name string) *Text {
	return &Text{ID: InfoNodeLabelGenerated, Text: title, Type: TextInfo, Context: map[string]any{"title": title, "name": name}}
}

// SignInWith labels a social sign-in button (1010002).
func SignInWith(provider, providerID string) *Text {
	return &Text{ID: InfoLoginSignInWith, Text: "Sign in with " + provider, Type: TextInfo,
		Context: map[string]any{"provider": provider, "provider_id": providerID}}
}

// SignUpWith labels a social sign-up button (1040002).
func SignUpWith(provider, providerID string) *Text {
	return &Text{ID: InfoRegistrationSignUpWith, Text: "Sign up with " + provider, Type: TextInfo,
		Context: map[string]any{"provider": provider, "provider_id": providerID}}
}

// Generic is 4000001: a validation error whose text is the reason.
func Generic(reason string) *Text {
	return &Text{ID: ErrValidationGeneric, Text: reason, Type: TextError, Context: map[string]any{"reason": reason}}
}

// Required is 4000002.
func Required(property string) *Text {
	return &Text{ID: ErrValidationRequired, Text: fmt.Sprintf("Property %s is missing.", property), Type: TextError,
		Context: map[string]any{"property": property}}
}

// MinLength is 4000003; MaxLength is 4000017.
func MinLength(min, actual int) *Text {
	return &Text{ID: ErrValidationMinLength, Text: fmt.Sprintf("length must be >= %d, but got %d", min, actual), Type: TextError,
		Context: map[string]any{"min_length": min, "actual_length": actual}}
}

// MaxLength is 4000017.
func MaxLength(max, actual int) *Text {
	return &Text{ID: ErrValidationMaxLength, Text: fmt.Sprintf("length must be <= %d, but got %d", max, actual), Type: TextError,
		Context: map[string]any{"max_length": max, "actual_length": actual}}
}

// Pattern is 4000004.
func Pattern(value, pattern string) *Text {
	return &Text{ID: ErrValidationPattern, Text: fmt.Sprintf("%q does not match pattern %q", value, pattern), Type: TextError,
		Context: map[string]any{"pattern": pattern}}
}

// PasswordPolicy is 4000005.
func PasswordPolicy(reason string) *Text {
	return &Text{ID: ErrValidationPasswordPolicy, Text: "The password can not be used because " + reason + ".", Type: TextError,
		Context: map[string]any{"reason": reason}}
}

// PasswordTooShort is 4000032; PasswordTooLong 4000033.
func PasswordTooShort(min, actual int) *Text {
	return &Text{ID: ErrValidationPasswordTooShort, Text: fmt.Sprintf("The password must be at least %d characters long, but got %d.", min, actual),
		Type: TextError, Context: map[string]any{"min_length": min, "actual_length": actual}}
}

// PasswordTooLong is 4000033.
func PasswordTooLong(max, actual int) *Text {
	return &Text{ID: ErrValidationPasswordTooLong, Text: fmt.Sprintf("The password must be at most %d characters long, but got %d.", max, actual),
		Type: TextError, Context: map[string]any{"max_length": max, "actual_length": actual}}
}

// WrongType is 4000026.
func WrongType(allowed, actual string) *Text {
	return &Text{ID: ErrValidationWrongType, Text: fmt.Sprintf("expected %s, but got %s", allowed, actual), Type: TextError,
		Context: map[string]any{"allowed_types": []string{allowed}, "actual_type": actual}}
}

// System is 5000001.
func System(reason string) *Text {
	return &Text{ID: ErrSystemGeneric, Text: reason, Type: TextError, Context: map[string]any{"reason": reason}}
}

// Expired is the "flow expired" message of a kind (4010001, 4040001,
// 4050001, 4060005, 4070005).
func Expired(k Kind, expiredAt, now time.Time) *Text {
	id := map[Kind]int{KindLogin: ErrLoginExpired, KindRegistration: ErrRegistrationExpired, KindSettings: ErrSettingsExpired,
		KindRecovery: ErrRecoveryExpired, KindVerification: ErrVerificationExpired}[k]
	return &Text{ID: id, Type: TextError,
		Text:    fmt.Sprintf("The %s flow expired %.2f minutes ago, please try again.", k, now.Sub(expiredAt).Minutes()),
		Context: map[string]any{"expired_at": expiredAt.UTC().Format(time.RFC3339Nano), "expired_at_unix": expiredAt.Unix()}}
}

// NoStrategy is the "no strategy for this method" message of a kind.
func NoStrategy(k Kind) *Text {
	return Message(map[Kind]int{KindLogin: ErrLoginNoStrategy, KindRegistration: ErrRegistrationNoStrategy, KindSettings: ErrSettingsNoStrategy,
		KindRecovery: ErrRecoveryNoStrategy, KindVerification: ErrVerificationNoStrategy}[k])
}

// RetrySuccess is the "already completed" message of a kind.
func RetrySuccess(k Kind) *Text {
	return Message(map[Kind]int{KindLogin: ErrLoginRetrySuccess, KindRegistration: ErrRegistrationRetrySuccess,
		KindRecovery: ErrRecoveryRetrySuccess, KindVerification: ErrVerificationRetrySuccess, KindSettings: ErrLoginRetrySuccess}[k])
}
