// Package webhook delivers the change log to the panels' webhooks: each due delivery is
// signed per the Standard Webhooks specification, posted with bounded time and size to an
// address that is not private unless allowed, and retried with exponential backoff and
// jitter until the schedule runs out; an endpoint failing every attempt for days is
// disabled and staff are told.
package webhook
