// Package mail decodes raw RFC 5322 messages into the gateway's channel-neutral
// gateway.Inbound: sender and recipients, subject, a plain-text body (HTML-only mail turned
// into text), threading headers, robot and bounce markers, a delivery report's details, and
// the attachments within a size limit.
//
// It is built on github.com/emersion/go-message (its textproto header and multipart
// readers, its mail header helpers for addresses, dates and message IDs, and its charset
// package for every charset golang.org/x/text knows) and is written for mail as it is, not
// as RFC 5322 and RFC 2045 say it should be: a broken part is skipped, a broken header is
// read around, an unknown charset is guessed, and only a message with no sender at all that
// is not a bounce is an error. It knows nothing of IMAP, tickets or the database.
package mail
