// Package core is helpdeskd's domain: accounts, users, properties, tickets, messages and
// attachments, the ticket state machine, the use cases every channel goes through, the
// domain errors, and the ports (Store, Blobs, Clock) that the adapters implement.
//
// It imports only the standard library and knows nothing of HTTP, SQL, mail or Telegram:
// permission checks and state transitions live here so that the REST API, the email gateway
// and the Telegram bot all obey the same rules.
package core
