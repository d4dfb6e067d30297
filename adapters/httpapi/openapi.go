package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/helpdeskd/helpdeskd/core"
)

// The OpenAPI 3 description of every route, served at GET /api/openapi.json without a key.
// It is built from the table below; a test walks the router and checks that the table and
// the registered routes name the same operations.

const openAPIPath = "/api/openapi.json"

// schema is a JSON Schema object as OpenAPI 3.0 writes it.
type schema = map[string]any

func ref(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }
func str(desc string) schema { return schema{"type": "string", "description": desc} }
func integer(desc string) schema {
	return schema{"type": "integer", "format": "int64", "description": desc}
}
func boolean(desc string) schema { return schema{"type": "boolean", "description": desc} }
func dateTime(desc string) schema {
	return schema{"type": "string", "format": "date-time", "description": desc}
}
func arrayOf(items schema) schema { return schema{"type": "array", "items": items} }
func binary() schema              { return schema{"type": "string", "format": "binary"} }

// nullable adds null to what s accepts. OpenAPI 3.0.3 honours nullable only beside a type
// in the same schema (linters refuse it elsewhere), so s must have one; for a $ref use
// nullableRef.
func nullable(s schema) schema {
	out := schema{"nullable": true}
	for k, v := range s {
		out[k] = v
	}
	return out
}

// nullableRef is the component name or null. A $ref takes no siblings in OpenAPI 3.0, so it
// is wrapped in allOf, beside the referenced schema's type (typ) that nullable needs.
func nullableRef(name, typ string) schema {
	return schema{"type": typ, "nullable": true, "allOf": []any{ref(name)}}
}

// alwaysNull is the schema of a value that is always null (the envelope's data on errors
// and on answers that carry nothing).
func alwaysNull(desc string) schema {
	return schema{"type": "object", "nullable": true, "enum": []any{nil}, "description": desc}
}

func object(props schema, required ...string) schema {
	s := schema{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// withOptional is allFields(props) plus properties that are present only sometimes.
func withOptional(props, optional schema) schema {
	s := allFields(props)
	for k, v := range optional {
		s["properties"].(schema)[k] = v
	}
	return s
}

// allFields lists an object's properties as required: every field is always present.
func allFields(props schema) schema {
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return object(props, names...)
}

func merge(a, b schema) schema {
	out := schema{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

var (
	ticketSummaryProps = schema{
		"id": integer("ticket ID, shown as #id"), "subject": str("1–200 characters (up to 255 for a ticket opened through /v1/support/tickets)"),
		"status": ref("Status"), "topic": ref("Topic"),
		"propertyId": nullable(integer("")), "propertyName": nullable(str("")),
	}
	ticketItemProps = merge(ticketSummaryProps, schema{
		"createdAt": dateTime(""), "updatedAt": dateTime(""),
		"messageCount": integer("messages the caller may see"),
	})
	ticketDetailProps = merge(ticketSummaryProps, schema{
		"accountId": integer(""), "userId": integer("the opener"), "description": str("the first message"),
		"createdAt": dateTime(""), "updatedAt": dateTime(""), "messageCount": integer("messages the caller may see"),
		"messages": arrayOf(ref("Message")), "history": arrayOf(ref("HistoryEvent")),
	})
	staffWorkProps = schema{
		"userName": str("the opener's name"), "publicMessageCount": integer("messages the customer sees"),
		"assigneeUserId": nullable(integer("")), "departmentId": nullable(integer("")), "departmentName": nullable(str("")),
		"dueAt": nullable(dateTime("the due time shown: the manual deadline, else the SLA's")), "overdue": boolean("the due time passed while Open or In Progress"),
		"favourite": boolean("in the caller's favourites"), "unread": boolean("a message the caller has not seen"),
		"archived": boolean("archived by the customer"), "mergedInto": nullable(integer("the ticket this one was merged into")),
		"waitingSince":       nullable(dateTime("the customer's oldest unanswered message")),
		"waitingSeconds":     integer("how long the customer has been waiting (0: not waiting)"),
		"firstResponseDueAt": nullable(dateTime("the SLA's first-response due time; null: no SLA or no such target")),
		"firstResponseAt":    nullable(dateTime("the first public staff reply; null: none yet")),
		"resolutionDueAt":    nullable(dateTime("the SLA's resolution due time, moved by the time spent Resolved")),
		"slaPaused":          boolean("the SLA's resolution clock is paused: the ticket is Resolved"),
		"breached":           boolean("an SLA target was missed"),
	}
)

// schemas are the document's components.
var schemas = map[string]schema{
	"Status": {"type": "integer", "enum": []int{0, 1, 2, 3}, "description": "0 Open, 1 In Progress, 2 Resolved, 3 Closed"},
	"Topic":  {"type": "integer", "enum": []int{0, 1, 2, 3, 4, 5}, "description": "0 General, 1 Networking, 2 Rules, 3 Billing, 4 SSL / Certificates, 5 Performance"},
	// data is always present; each operation gives its schema.
	"Envelope": object(schema{
		"succeeded": boolean(""), "message": str(""),
		"pageNumber": integer(""), "pageSize": integer(""), "totalPages": integer(""), "totalRecords": integer(""),
		"totalRecordsCapped": boolean("present, true, only when a staff search stopped counting: totalRecords tickets match and more may; pages end at totalPages"),
	}, "data", "message", "pageNumber", "pageSize", "succeeded", "totalPages", "totalRecords"),
	"ErrorEnvelope": object(schema{
		"succeeded": schema{"type": "boolean", "enum": []bool{false}}, "message": str(""), "data": alwaysNull("null"),
		"errors":     arrayOf(str("\"<field>: <what is wrong>\"; only when fields are at fault")),
		"pageNumber": integer(""), "pageSize": integer(""), "totalPages": integer(""), "totalRecords": integer(""),
	}, "data", "message", "pageNumber", "pageSize", "succeeded", "totalPages", "totalRecords"),
	"TicketSummary": allFields(ticketSummaryProps),
	"TicketItem":    allFields(ticketItemProps),
	"TicketDetail":  allFields(ticketDetailProps),
	"Attachment":    allFields(schema{"id": integer(""), "fileName": str(""), "size": integer("bytes"), "contentType": str("")}),
	"Message": withOptional(schema{
		"id": integer(""), "author": schema{"type": "string", "enum": []string{"customer", "staff", "system"}},
		"channel": schema{"type": "string", "enum": []string{"api", "email", "telegram"}}, "message": str("text"),
		"internal": boolean("staff-only note"), "hidden": boolean("hidden from the customer"), "createdAt": dateTime(""),
		"attachments": arrayOf(ref("Attachment")),
	}, schema{"verified": boolean("staff only: false when the channel could not prove the sender (a mail neither authenticated nor sent to the author's own reply address)"),
		"fullBody": str("staff only, present when message is the new part of a mail reply: the whole text as it arrived, quotes included")}),
	"HistoryEvent": allFields(schema{
		"at": dateTime(""), "actorUserId": nullable(integer("null: the system")),
		"kind": str("created, status, assigned, deadline, hidden, unhidden, edited, split, merged, archived, unarchived"),
		"from": nullableRef("Status", "integer"), "to": nullableRef("Status", "integer"), "detail": nullable(str("")),
	}),
	"EnumMember":        allFields(schema{"value": integer(""), "name": str(""), "label": str("")}),
	"Property":          allFields(schema{"id": integer(""), "name": str("")}),
	"TelegramLink":      allFields(schema{"code": str(""), "link": nullable(str("")), "expiresAt": dateTime("")}),
	"QueueItem":         allFields(merge(merge(ticketItemProps, staffWorkProps), schema{"accountId": integer(""), "userId": integer("")})),
	"StaffTicketDetail": allFields(merge(ticketDetailProps, staffWorkProps)),
	"Revision":          allFields(schema{"id": integer(""), "message": str("the text before the edit"), "editedBy": nullable(integer("")), "editedAt": dateTime("")}),
	"Department":        allFields(schema{"id": integer(""), "name": str("")}),
	"Notification": allFields(schema{
		"id": integer(""), "event": str(""), "channel": str(""), "userId": nullable(integer("")), "recipient": str(""),
		"ticketId": nullable(integer("")), "messageId": nullable(integer("")), "state": str(""), "attempts": integer(""),
		"lastError": nullable(str("")), "createdAt": dateTime(""), "nextAttemptAt": nullable(dateTime("")), "sentAt": nullable(dateTime("")),
	}),
	"InboundMessage": allFields(schema{
		"channel": str(""), "key": str("Message-ID or update ID"), "result": str(""), "ticketId": nullable(integer("")),
		"messageId": nullable(integer("")), "sender": str(""), "subject": str(""), "reason": str(""), "at": dateTime(""),
	}),
	"Account":       allFields(schema{"id": integer(""), "name": str("")}),
	"User":          allFields(schema{"id": integer(""), "email": str(""), "name": str(""), "role": str("customer, staff or admin"), "accountIds": arrayOf(integer("")), "defaultAccountId": nullable(integer("")), "language": str("BCP 47 tag the user is written to in; empty: the desk's default")}),
	"AdminProperty": allFields(schema{"id": integer(""), "accountId": integer(""), "name": str("")}),
	"ApiKey":        allFields(schema{"id": integer(""), "key": str("shown only in this answer"), "prefix": str(""), "createdAt": dateTime("")}),
	"EventTicket":   allFields(merge(ticketItemProps, schema{"accountId": integer(""), "userId": integer("the opener")})),
	"EventData": withOptional(schema{"ticket": nullableRef("EventTicket", "object")}, schema{
		"message":          ref("Message"),
		"from":             ref("Status"),
		"to":               ref("Status"),
		"assigneeUserId":   integer("ticket.assigned: the staff user, 0 for none"),
		"departmentId":     integer("ticket.assigned: the department, 0 for none"),
		"detail":           str("notification.failed, inbound.rejected: what failed and why"),
		"messageTruncated": boolean("webhooks only: the message's text was cut to keep the body within 256 KiB"),
	}),
	"Event": allFields(schema{"id": integer("pass the last one's as after"), "type": schema{"type": "string", "enum": changeTypeNames()},
		"timestamp": dateTime(""), "data": ref("EventData")}),
	"Webhook": withOptional(schema{"id": integer(""), "url": str(""), "events": arrayOf(schema{"type": "string", "enum": changeTypeNames()}),
		"createdAt": dateTime(""), "disabled": boolean("set after every attempt failed for three days; a redelivery enables it again"),
		"failingSince": nullable(dateTime("the first failed attempt since the last delivery that succeeded"))},
		schema{"secret": str("whsec_…, answered only when the webhook is created"), "disabledReason": str("")}),
	"WebhookDelivery": allFields(schema{"id": integer("its webhook-id is msg_ and this id"), "webhookId": integer(""),
		"type": str(""), "state": schema{"type": "string", "enum": []string{"pending", "delivered", "failed"}}, "attempts": integer(""),
		"nextAttemptAt": nullable(dateTime("")), "lastStatus": nullable(integer("the HTTP status of the last attempt")),
		"lastError": str(""), "createdAt": dateTime(""), "deliveredAt": nullable(dateTime(""))}),
	"AuditEntry": allFields(schema{"id": integer(""), "at": dateTime(""), "actorUserId": nullable(integer("null: the system or the CLI")),
		"action": str("e.g. canned_reply.update, user.export, user.erase"), "subject": str("e.g. user:17"), "detail": str("")}),
	"UserErasure": allFields(schema{"userId": integer(""), "filesDeleted": integer("attachments and raw mails removed"),
		"filesLeft": integer("files the blob sweep removes later"), "scrubPending": boolean("the store's files are cleaned at the next checkpoint")}),
	"CreateWebhookRequest": object(schema{"url": str("http or https"), "events": arrayOf(schema{"type": "string", "enum": changeTypeNames()})}, "url", "events"),
	"TemplatePreview": allFields(schema{"name": str("the notification kind: ticket_created, new_ticket, staff_reply, customer_reply, status_changed, notice"),
		"language": str("as asked; empty: the desk's default"), "format": str("text, html or telegram"), "subject": str("the mail's subject"),
		"body": str("the rendered body: plain text, a whole HTML document for format html, or the Telegram message")}),
	"CannedReply": allFields(schema{"id": integer(""), "name": str("one word in lower case, unique: /canned <name> in the Telegram staff chat"),
		"body":      str("plain text with the placeholders {{customer.name}}, {{ticket.id}}, {{ticket.subject}}, {{staff.name}}"),
		"status":    nullable(integer("the status the reply sets after it is sent: 1 In Progress, 2 Resolved, 3 Closed; null: none")),
		"createdAt": dateTime(""), "updatedAt": dateTime(""), "updatedBy": nullable(integer("the staff user who created or last changed it"))}),
	"CannedReplyRequest": object(schema{"name": str("1–32 letters, digits, - or _; stored in lower case"),
		"body":   str("1–20000 characters; an unknown {{placeholder}} is refused"),
		"status": nullable(integer("1 In Progress, 2 Resolved or 3 Closed: set after the reply; null or absent: none"))}, "name", "body"),

	"CreateTicketRequest":  object(schema{"subject": str(""), "description": str(""), "propertyId": nullable(integer("")), "topic": ref("Topic")}, "subject", "description"),
	"CreateTicketForm":     object(schema{"subject": str(""), "description": str(""), "propertyId": integer(""), "topic": integer(""), "file": binary()}, "subject", "description"),
	"ReplyRequest":         object(schema{"message": str("")}, "message"),
	"ReplyForm":            object(schema{"message": str(""), "file": binary()}),
	"StaffReplyRequest":    object(schema{"message": str("required unless cannedReplyId is given; with it, added after the canned text and a blank line"), "internal": boolean("an internal note: never shown or notified to the customer"), "cannedReplyId": nullable(integer("send this canned reply, its placeholders filled for the ticket; its status, if any, is set after the reply"))}),
	"StaffReplyForm":       object(schema{"message": str(""), "internal": boolean(""), "cannedReplyId": integer("as in the JSON request"), "file": binary()}),
	"SetStatusRequest":     object(schema{"status": schema{"type": "integer", "enum": []int{1, 2, 3}}}, "status"),
	"AssignRequest":        object(schema{"assigneeUserId": nullable(integer("a staff user; null: nobody")), "departmentId": nullable(integer("null: none"))}),
	"DeadlineRequest":      object(schema{"dueAt": nullable(dateTime("null clears the deadline"))}),
	"EditMessageRequest":   object(schema{"message": str("the new text")}, "message"),
	"SplitRequest":         object(schema{"messageId": integer("the first message of the new ticket"), "subject": str("optional")}, "messageId"),
	"MergeRequest":         object(schema{"intoTicketId": integer("a ticket of the same account")}, "intoTicketId"),
	"PutAccountRequest":    object(schema{"name": str("")}, "name"),
	"PutUserRequest":       object(schema{"email": str(""), "name": str(""), "role": str(""), "accountIds": arrayOf(integer("")), "defaultAccountId": nullable(integer("")), "language": str("BCP 47 tag such as en, es, ru, bg; omitted or empty: the desk's default")}, "email", "name"),
	"PutPropertyRequest":   object(schema{"accountId": integer(""), "name": str("")}, "accountId", "name"),
	"PutDepartmentRequest": object(schema{"name": str("")}, "name"),

	"CompatCreateForm": object(schema{
		"department_id": integer(""), "subject": schema{"type": "string", "minLength": compatMinSubject, "maxLength": compatMaxSubject},
		"message": schema{"type": "string", "minLength": compatMinMessage}, "attachments[]": arrayOf(binary()),
		"service_id": integer("a property of the account"), "service_type": str("e.g. hosting, server"),
	}, "department_id", "subject", "message"),
	"CompatTicket": allFields(schema{
		"id": integer(""), "status": str("opened, in_progress, resolved, closed"), "subject": str(""),
		"created_at": str("2024-11-20T22:00:00.000000Z"), "updated_at": str(""), "department": str(""),
		"service_label": nullable(str("")), "service_type": nullable(str("")), "service_id": nullable(integer("")),
		"messages": arrayOf(allFields(schema{
			"id": integer(""), "content": str(""), "is_customer": boolean(""), "created_at": str(""),
			"attachments": arrayOf(allFields(schema{"id": integer(""), "name": str(""), "size": integer(""), "mimeType": str("")})),
		})),
	}),
	"CompatError": object(schema{"message": str(""), "errors": schema{"type": "object", "additionalProperties": arrayOf(str(""))}}, "message"),
}

// param is a query parameter.
type param struct {
	name, desc string
	typ        string // "integer", "string", "boolean"
	required   bool
}

func q(name, typ, desc string) param { return param{name: name, typ: typ, desc: desc} }

var (
	accountParam = param{name: "accountId", typ: "integer", desc: "an account of the key's user (staff: any)", required: true}
	pageParams   = []param{q("pageNumber", "integer", "from 1"), q("pageSize", "integer", "1–100, default 20")}
)

// op is one documented operation.
type op struct {
	method, path, tag, summary string
	public                     bool // no key needed
	query                      []param
	jsonBody, formBody         string // request schema names
	status                     int
	data                       string // the envelope's data schema ("": null)
	list                       bool   // data is a list of data, paged
	raw                        schema // the whole body when the answer is not the envelope
	rawType                    string
}

var operations = []op{
	{method: "GET", path: "/healthz", tag: "ops", summary: "Process alive", public: true, status: 200},
	{method: "GET", path: "/readyz", tag: "ops", summary: "Database writable, channels connected or retrying", public: true, status: 200},
	{method: "GET", path: "/metrics", tag: "ops", summary: "Prometheus metrics", public: true, status: 200, raw: str("Prometheus text format"), rawType: "text/plain"},
	{method: "GET", path: openAPIPath, tag: "ops", summary: "This document", public: true, status: 200, raw: schema{"type": "object"}, rawType: "application/json"},

	{method: "POST", path: "/api/Ticket", tag: "customer", summary: "Open a ticket", query: []param{accountParam}, jsonBody: "CreateTicketRequest", formBody: "CreateTicketForm", status: 201, data: "TicketSummary"},
	{method: "GET", path: "/api/Ticket", tag: "customer", summary: "List an account's tickets, newest first", query: append([]param{accountParam,
		q("status", "integer", ""), q("topic", "integer", ""), q("propertyId", "integer", "0: without a property"),
		q("archived", "boolean", "true lists the archived tickets instead of the others")}, pageParams...), status: 200, data: "TicketItem", list: true},
	{method: "GET", path: "/api/Ticket/{id}", tag: "customer", summary: "A ticket with the messages the caller may see", query: []param{accountParam}, status: 200, data: "TicketDetail"},
	{method: "POST", path: "/api/Ticket/{id}/Reply", tag: "customer", summary: "Add a message", query: []param{accountParam}, jsonBody: "ReplyRequest", formBody: "ReplyForm", status: 201, data: "Message"},
	{method: "POST", path: "/api/Ticket/{id}/Close", tag: "customer", summary: "Close (already closed: nothing happens)", query: []param{accountParam}, status: 200, data: "TicketSummary"},
	{method: "POST", path: "/api/Ticket/{id}/Archive", tag: "customer", summary: "Archive a closed ticket", query: []param{accountParam}, status: 200, data: "TicketSummary"},
	{method: "POST", path: "/api/Ticket/{id}/Unarchive", tag: "customer", summary: "Take a ticket out of the archive", query: []param{accountParam}, status: 200, data: "TicketSummary"},
	{method: "GET", path: "/api/Ticket/{id}/Attachment/{attachmentId}", tag: "customer", summary: "An attachment's bytes", query: []param{accountParam}, status: 200, raw: binary(), rawType: "application/octet-stream"},
	{method: "GET", path: "/api/Property", tag: "customer", summary: "The account's properties", query: []param{accountParam}, status: 200, data: "Property", list: true},
	{method: "POST", path: "/api/Telegram/Link", tag: "customer", summary: "A one-time code linking Telegram", query: []param{accountParam}, status: 200, data: "TelegramLink"},
	{method: "GET", path: "/api/Event", tag: "customer", summary: "The account's change feed: its public changes after an event id, in order, waiting for one up to wait seconds", query: []param{
		accountParam, q("after", "integer", "the last event id the client has; 0 or absent: from the start"), q("limit", "integer", "1–500, default 100"),
		q("wait", "integer", "seconds (0–60) to wait for a change when there is none yet")}, status: 200, data: "Event", list: true},
	{method: "GET", path: "/api/Ticket/Topics", tag: "customer", summary: "Topics", status: 200, data: "EnumMember", list: true},
	{method: "GET", path: "/api/Ticket/Statuses", tag: "customer", summary: "Statuses", status: 200, data: "EnumMember", list: true},

	{method: "GET", path: "/api/staff/Ticket", tag: "staff", summary: "The queue across accounts", query: append([]param{
		q("status", "integer", ""), q("topic", "integer", ""), q("accountId", "integer", ""), q("propertyId", "integer", "0: without a property"),
		q("assigneeUserId", "integer", ""), q("departmentId", "integer", "0: without a department"), q("unassigned", "boolean", "no staff user assigned"),
		q("unread", "boolean", "with messages the caller has not seen"), q("favourite", "boolean", "in the caller's favourites"),
		q("overdue", "boolean", "the due time passed while Open or In Progress"), q("archived", "boolean", ""),
		q("breached", "boolean", "an SLA target was missed"),
		q("q", "string", "free text: every word must occur in the subject or a message; counting stops at a cap (totalRecordsCapped)"),
		q("sort", "string", "updated (default), created, due or deadline (both: the due time shown, soonest first)"), q("order", "string", "asc or desc")}, pageParams...),
		status: 200, data: "QueueItem", list: true},
	{method: "GET", path: "/api/staff/Ticket/{id}", tag: "staff", summary: "A ticket with every message; marks it read", status: 200, data: "StaffTicketDetail"},
	{method: "POST", path: "/api/staff/Ticket/{id}/Status", tag: "staff", summary: "Set In Progress, Resolved or Closed", jsonBody: "SetStatusRequest", status: 200, data: "TicketSummary"},
	{method: "POST", path: "/api/staff/Ticket/{id}/Reply", tag: "staff", summary: "Reply, or add an internal note", jsonBody: "StaffReplyRequest", formBody: "StaffReplyForm", status: 201, data: "Message"},
	{method: "PUT", path: "/api/staff/Ticket/{id}/Assignment", tag: "staff", summary: "Assign to a staff user and/or a department", jsonBody: "AssignRequest", status: 200, data: "QueueItem"},
	{method: "PUT", path: "/api/staff/Ticket/{id}/Deadline", tag: "staff", summary: "Set or clear the response deadline", jsonBody: "DeadlineRequest", status: 200, data: "QueueItem"},
	{method: "PUT", path: "/api/staff/Ticket/{id}/Favourite", tag: "staff", summary: "Add to the caller's favourites", status: 200, data: "QueueItem"},
	{method: "DELETE", path: "/api/staff/Ticket/{id}/Favourite", tag: "staff", summary: "Remove from the caller's favourites", status: 200, data: "QueueItem"},
	{method: "PUT", path: "/api/staff/Ticket/{id}/Read", tag: "staff", summary: "Mark read for the caller", status: 200, data: "QueueItem"},
	{method: "DELETE", path: "/api/staff/Ticket/{id}/Read", tag: "staff", summary: "Mark unread for the caller", status: 200, data: "QueueItem"},
	{method: "PUT", path: "/api/staff/Ticket/{id}/Message/{messageId}", tag: "staff", summary: "Edit a message (the old text is kept)", jsonBody: "EditMessageRequest", status: 200, data: "Message"},
	{method: "GET", path: "/api/staff/Ticket/{id}/Message/{messageId}/Revisions", tag: "staff", summary: "A message's earlier texts", status: 200, data: "Revision", list: true},
	{method: "POST", path: "/api/staff/Ticket/{id}/Message/{messageId}/Hide", tag: "staff", summary: "Hide a message from the customer", status: 200, data: "Message"},
	{method: "POST", path: "/api/staff/Ticket/{id}/Message/{messageId}/Unhide", tag: "staff", summary: "Show a hidden message again", status: 200, data: "Message"},
	{method: "POST", path: "/api/staff/Ticket/{id}/Split", tag: "staff", summary: "Move a message and the later ones into a new ticket", jsonBody: "SplitRequest", status: 201, data: "TicketItem"},
	{method: "POST", path: "/api/staff/Ticket/{id}/Merge", tag: "staff", summary: "Move every message into another ticket of the account and close this one", jsonBody: "MergeRequest", status: 200, data: "TicketItem"},
	{method: "GET", path: "/api/staff/Ticket/{id}/History", tag: "staff", summary: "The audit history", status: 200, data: "HistoryEvent", list: true},
	{method: "GET", path: "/api/staff/Ticket/{id}/Attachment/{attachmentId}", tag: "staff", summary: "An attachment's bytes", status: 200, raw: binary(), rawType: "application/octet-stream"},
	{method: "GET", path: "/api/staff/Department", tag: "staff", summary: "Departments", status: 200, data: "Department", list: true},
	{method: "GET", path: "/api/staff/CannedReply", tag: "staff", summary: "Canned replies, by name", status: 200, data: "CannedReply", list: true},
	{method: "POST", path: "/api/staff/CannedReply", tag: "staff", summary: "Create a canned reply (audited)", jsonBody: "CannedReplyRequest", status: 201, data: "CannedReply"},
	{method: "GET", path: "/api/staff/CannedReply/{id}", tag: "staff", summary: "A canned reply", status: 200, data: "CannedReply"},
	{method: "PUT", path: "/api/staff/CannedReply/{id}", tag: "staff", summary: "Replace a canned reply's name, body and status (audited)", jsonBody: "CannedReplyRequest", status: 200, data: "CannedReply"},
	{method: "DELETE", path: "/api/staff/CannedReply/{id}", tag: "staff", summary: "Delete a canned reply (audited)", status: 200},
	{method: "GET", path: "/api/staff/Notification", tag: "staff", summary: "Notifications in a state, newest first", query: []param{
		q("state", "string", "failed (default), bounced, pending, sent, canceled"), q("limit", "integer", "1–500, default 100")}, status: 200, data: "Notification", list: true},
	{method: "GET", path: "/api/staff/Event", tag: "staff", summary: "The change feed: every change after an event id, in order, waiting for one up to wait seconds", query: []param{
		q("after", "integer", "the last event id the client has; 0 or absent: from the start"), q("limit", "integer", "1–500, default 100"),
		q("wait", "integer", "seconds (0–60) to wait for a change when there is none yet"), q("accountId", "integer", "only this account's tickets")},
		status: 200, data: "Event", list: true},
	{method: "GET", path: "/api/staff/InboundMail", tag: "staff", summary: "Inbound messages with a result, newest first", query: []param{
		q("result", "string", "rejected (default), failed, ignored, bounce"), q("limit", "integer", "1–500, default 100")}, status: 200, data: "InboundMessage", list: true},

	{method: "PUT", path: "/api/admin/Account/{id}", tag: "admin", summary: "Upsert an account", jsonBody: "PutAccountRequest", status: 200, data: "Account"},
	{method: "PUT", path: "/api/admin/User/{id}", tag: "admin", summary: "Upsert a user", jsonBody: "PutUserRequest", status: 200, data: "User"},
	{method: "PUT", path: "/api/admin/Property/{id}", tag: "admin", summary: "Upsert a property", jsonBody: "PutPropertyRequest", status: 200, data: "AdminProperty"},
	{method: "PUT", path: "/api/admin/Department/{id}", tag: "admin", summary: "Upsert a department", jsonBody: "PutDepartmentRequest", status: 200, data: "Department"},
	{method: "POST", path: "/api/admin/User/{id}/ApiKey", tag: "admin", summary: "Create an API key (shown once)", status: 201, data: "ApiKey"},
	{method: "DELETE", path: "/api/admin/User/{id}/ApiKey/{keyId}", tag: "admin", summary: "Revoke an API key", status: 200},
	{method: "GET", path: "/api/admin/User/{id}/Export", tag: "admin", summary: "Export everything about a user: a zip of export.json and their files (docs/privacy.md)", status: 200, raw: binary(), rawType: "application/zip"},
	{method: "POST", path: "/api/admin/User/{id}/Erase", tag: "admin", summary: "Erase a user's personal data (docs/privacy.md)", status: 200, data: "UserErasure"},
	{method: "GET", path: "/api/admin/Template/{name}/Preview", tag: "admin", summary: "Render a notification template with sample data", query: []param{
		q("language", "string", "en, es, ru or bg; default: the desk's default language"),
		q("format", "string", "text (the mail's plain text, the default), html (its HTML part) or telegram")}, status: 200, data: "TemplatePreview"},

	{method: "GET", path: "/api/admin/Audit", tag: "admin", summary: "The audit log, newest first", query: []param{
		q("subject", "string", "only entries about it, e.g. user:17"), q("action", "string", "only entries of it, e.g. user.erase"),
		q("limit", "integer", "1–500, default 100")}, status: 200, data: "AuditEntry", list: true},
	{method: "POST", path: "/api/admin/Webhook", tag: "admin", summary: "Register a webhook (its secret is shown once)", jsonBody: "CreateWebhookRequest", status: 201, data: "Webhook"},
	{method: "GET", path: "/api/admin/Webhook", tag: "admin", summary: "Webhooks", status: 200, data: "Webhook", list: true},
	{method: "DELETE", path: "/api/admin/Webhook/{id}", tag: "admin", summary: "Delete a webhook and its deliveries", status: 200},
	{method: "GET", path: "/api/admin/Webhook/{id}/Delivery", tag: "admin", summary: "A webhook's delivery log, newest first", query: []param{
		q("pageNumber", "integer", ""), q("pageSize", "integer", "1–200, default 50")}, status: 200, data: "WebhookDelivery", list: true},
	{method: "POST", path: "/api/admin/Webhook/{id}/Delivery/{deliveryId}/Redeliver", tag: "admin", summary: "Queue a delivery again, now (enables a disabled webhook)", status: 200, data: "WebhookDelivery"},

	{method: "POST", path: "/v1/support/tickets", tag: "compat", summary: "Open a ticket (compatibility shape)", query: []param{
		q("accountId", "integer", "default: the key's user's default account, else their only one")}, formBody: "CompatCreateForm", status: 200, raw: ref("CompatTicket"), rawType: "application/json"},
	{method: "GET", path: "/v1/support/tickets/{id}", tag: "compat", summary: "A ticket (compatibility shape)", query: []param{
		q("accountId", "integer", "optional scope")}, status: 200, raw: ref("CompatTicket"), rawType: "application/json"},
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func (o op) operation() schema {
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
		s := schema{"type": "integer", "format": "int64", "minimum": 1}
		if m[1] == "name" { // the one path parameter that is no ID: a template's name
			s = schema{"type": "string"}
		}
		params = append(params, schema{"name": m[1], "in": "path", "required": true, "schema": s})
	}
	for _, p := range o.query {
		params = append(params, schema{"name": p.name, "in": "query", "required": p.required, "description": p.desc, "schema": schema{"type": p.typ}})
	}
	out := schema{"tags": []string{o.tag}, "summary": o.summary,
		"operationId": strings.ToLower(o.method) + strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_").Replace(o.path)}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if o.public {
		out["security"] = []any{}
	}
	content := schema{}
	if o.jsonBody != "" {
		content["application/json"] = schema{"schema": ref(o.jsonBody)}
	}
	if o.formBody != "" {
		content["multipart/form-data"] = schema{"schema": ref(o.formBody)}
	}
	if len(content) > 0 {
		out["requestBody"] = schema{"required": true, "content": content}
	}
	var body schema
	switch {
	case o.raw != nil:
		body = schema{o.rawType: schema{"schema": o.raw}}
	default:
		data := alwaysNull("null: nothing to answer")
		if o.data != "" {
			data = ref(o.data)
			if o.list {
				data = arrayOf(data)
			}
		}
		body = schema{"application/json": schema{"schema": schema{"allOf": []any{ref("Envelope"),
			schema{"type": "object", "properties": schema{"data": data}}}}}}
	}
	errBody := schema{"application/json": schema{"schema": ref("ErrorEnvelope")}}
	if strings.HasPrefix(o.path, compatPrefix) {
		errBody = schema{"application/json": schema{"schema": ref("CompatError")}}
	}
	out["responses"] = schema{
		strconv.Itoa(o.status): schema{"description": "success", "content": body},
		"4XX": schema{"description": "the client's error: 400, 401, 403, 404, 405, 409, 413, 415, 429", "content": errBody,
			"headers": schema{
				"Retry-After":      schema{"description": "with 429: whole seconds until a request is allowed again", "schema": schema{"type": "integer", "minimum": 1}},
				"WWW-Authenticate": schema{"description": "with 401", "schema": schema{"type": "string"}},
			}},
		"5XX": schema{"description": "500 (internal), 503 (unavailable, not ready)", "content": errBody},
	}
	if o.method == http.MethodPost || o.method == http.MethodPut {
		withIdempotencyKey(out, strconv.Itoa(o.status), errBody)
	}
	return out
}

// withIdempotencyKey documents Idempotency-Key (idempotency.go, docs/api.md) on an
// operation that changes something: the header, the replay's header on the success answer,
// and the answers of a key in use.
func withIdempotencyKey(op schema, success string, errBody schema) {
	params, _ := op["parameters"].([]any)
	op["parameters"] = append(params, schema{"name": idempotencyHeader, "in": "header", "required": false,
		"description": "a key of the caller's choosing (a UUID, say) that makes a retry safe: a repeat with the same key and the same " +
			"request within 24 hours gets the first answer again instead of doing the change twice",
		"schema": schema{"type": "string", "minLength": 1, "maxLength": maxIdempotencyKeyChars}})
	responses := op["responses"].(schema)
	responses[success].(schema)["headers"] = schema{
		replayedHeader: schema{"description": "true: this is the stored answer of an earlier request with the same Idempotency-Key",
			"schema": schema{"type": "string", "enum": []string{"true"}}},
	}
	responses["409"] = schema{"description": "a conflict: refused by the state machine or a uniqueness rule; or a request with the same " +
		"Idempotency-Key still running, or applied with its answer lost", "content": errBody}
	responses["422"] = schema{"description": "the Idempotency-Key was used for a different request (method, path or body)", "content": errBody}
}

// openAPIDocument builds the whole document.
func openAPIDocument() map[string]any {
	paths := map[string]schema{}
	for _, o := range operations {
		p := paths[o.path]
		if p == nil {
			p = schema{}
			paths[o.path] = p
		}
		p[strings.ToLower(o.method)] = o.operation()
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": schema{"title": "helpdeskd", "version": "1",
			"description": "The support desk's REST API. Every answer under /api is the envelope " +
				"{succeeded, message, data, pageNumber, pageSize, totalPages, totalRecords}; /v1/support answers in the compatibility shape."},
		// Relative: the document describes whichever host serves it.
		"servers":  []any{schema{"url": "/", "description": "this daemon"}},
		"security": []any{schema{"apiKey": []string{}}, schema{"bearer": []string{}}},
		"tags": []any{
			schema{"name": "customer", "description": "The customer panel's calls; accountId required"},
			schema{"name": "staff", "description": "Role staff or admin (customers: 403)"},
			schema{"name": "admin", "description": "Provisioning; role admin"},
			schema{"name": "ops", "description": "Operations; no key"},
			schema{"name": "compat", "description": "The multipart ticket API of an earlier ticket system"},
		},
		"paths": paths,
		"components": schema{
			"schemas": schemas,
			"securitySchemes": schema{
				"apiKey": schema{"type": "apiKey", "in": "header", "name": "X-API-Key"},
				"bearer": schema{"type": "http", "scheme": "bearer"},
			},
		},
	}
}

var (
	openAPIOnce sync.Once
	openAPIJSON []byte
	openAPIErr  error
)

// GET /api/openapi.json
func (s *server) openAPI(w http.ResponseWriter, r *http.Request) {
	openAPIOnce.Do(func() { openAPIJSON, openAPIErr = json.MarshalIndent(openAPIDocument(), "", "  ") })
	if openAPIErr != nil {
		s.writeError(w, r, openAPIErr)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(openAPIJSON)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIJSON)
}

// changeTypeNames lists the webhook event types.
func changeTypeNames() []string {
	var out []string
	for _, t := range core.ChangeTypes() {
		out = append(out, string(t))
	}
	return out
}
