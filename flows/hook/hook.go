// Package hook runs a project's hooks around its self-service flows
// (Kratos selfservice hooks, §10): the built-ins (session,
// show_verification_ui, require_verified_address, revoke_active_sessions,
// verification), webhooks and JavaScript actions.
//
// Webhooks that can interrupt the flow or parse the answer are called
// inline, with a timeout and a per-hook failure policy; the others are
// written to the outbox in the flow's transaction and delivered by the
// worker with retries. Every call and run is recorded in the project's
// delivery log, and a failed delivery can be replayed. Requests are signed
// (Lanyard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">)
// and, in hosted mode, cannot reach loopback, private, link-local or
// metadata addresses.
//
// Errors: Save returns errx.Invalid with the place of the problem (and the
// line and column of a script that does not compile); reads of deliveries
// return errx.NotFound for unknown ids; a flow interrupted by a hook gets a
// *flows.ValidationError, a failing synchronous hook errx.BadGateway or
// errx.GatewayTimeout (fail closed).
package hook
