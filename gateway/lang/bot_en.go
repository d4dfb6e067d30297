package lang

// botEN holds the Telegram bot's answers and buttons. Commands (/new, /tickets) are the
// same in every language; only what is said about them is translated.
var botEN = catalog{
	"bot.help": "What I can do:\n" +
		"/new – open a ticket (or /new <subject>)\n" +
		"/tickets – your open tickets\n" +
		"/ticket N – show ticket N\n" +
		"/close N – close ticket N\n" +
		"/cancel – stop what you started\n" +
		"/unlink – unlink this Telegram account\n\n" +
		"To answer a ticket, reply to any of its messages here (or tap Reply under it). " +
		"Photos and documents are added as attachments.",
	"bot.explain": "This is the support desk of %s. Your Telegram account is not linked to a customer " +
		"account yet, so I cannot take messages from it.\n\nTo link it, open the customer panel, choose Telegram, and " +
		"follow the link shown there: it opens this chat with /start and a one-time code (valid 15 minutes).",
	"bot.start_linked":       "Hello %s, this Telegram account is linked to %s.",
	"bot.linked_now":         "Hello %s, your Telegram account is now linked to %s. Ticket news will come here too.",
	"bot.already_linked":     "This Telegram account is already linked to %s.",
	"bot.link_code_invalid":  "This link code is unknown, used or expired. Create a new one in the panel.",
	"bot.link_first":         "Link your Telegram account first.",
	"bot.unlinked":           "This Telegram account is no longer linked. You can link it again from the customer panel.",
	"bot.cancelled":          "Cancelled. Nothing was sent.",
	"bot.unknown_command":    "Unknown command /%s. Nothing was changed.",
	"bot.usage_ticket":       "Usage: /ticket N, for example /ticket 42.",
	"bot.usage_close":        "Usage: /close N, for example /close 42.",
	"bot.new_topic":          "New ticket. What is it about?",
	"bot.choose_topic":       "Please choose a topic with the buttons above, or send /cancel.",
	"bot.topic_set":          "Topic: %s.\nNow send the subject in one line (at most %d characters).",
	"bot.new_subject":        "New ticket: %s\nNow describe the problem (text, a photo or a document).",
	"bot.subject_set":        "Subject: %s\nNow describe the problem (text, a photo or a document).",
	"bot.subject_as_text":    "Please send the subject as text; the files can come with the description.",
	"bot.subject_empty":      "The subject must not be empty. Please send it as text.",
	"bot.subject_too_long":   "The subject is %d characters long; the limit is %d. Please send a shorter one.",
	"bot.unsupported":        "I can take text, photos and documents only.",
	"bot.ask_new":            "Is this a new ticket?",
	"bot.ask_new_or_reply":   "Is this a new ticket, or a reply to one of your open tickets?",
	"bot.expired":            "This question has expired. Send /new to open a ticket, or just write your message.",
	"bot.expired_short":      "This question has expired.",
	"bot.button_invalid":     "This button is no longer valid.",
	"bot.private_only":       "This button works in the private chat only.",
	"bot.reply_prompt":       "Write your reply to ticket #%d (%s) as an answer to this message.",
	"bot.no_tickets":         "You have no open tickets. Send /new to open one.",
	"bot.tickets_head":       "Your open tickets:",
	"bot.tickets_foot":       "Send /ticket N to see one.",
	"bot.not_found":          "Ticket #%d was not found among your tickets. Nothing was changed.",
	"bot.ticket_fields":      "Status: %s · Topic: %s",
	"bot.ticket_opened":      "Opened %s",
	"bot.ticket_earlier":     "(%d earlier messages)",
	"bot.ticket_attachment":  "[attachment: %s, %s]",
	"bot.who_you":            "You",
	"bot.who_support":        "Support",
	"bot.who_customer":       "Customer",
	"bot.already_closed":     "Ticket #%d was already closed.",
	"bot.close_failed":       "Ticket #%d could not be closed: %s",
	"bot.closed":             "Ticket #%d is closed. A reply to it opens a new ticket.",
	"bot.added":              "Added to ticket #%d.",
	"bot.ticket_opened_now":  "Ticket #%d is open: %s\nWe will answer here. Reply to this message to add to it.",
	"bot.follow_up":          "Ticket #%d is closed, so your message opened a new ticket #%d that refers to it.\nReply to this message to add to the new ticket.",
	"bot.not_added":          "Your message was not added: %s",
	"bot.file_too_large":     "The file %q (%s) is larger than the %s limit, so nothing was added. Please send a smaller file, or a link to it.",
	"bot.file_over_download": "The file %q (%s) is larger than the %s Telegram lets bots download, so nothing was added. Please send a smaller file, or a link to it.",
	"bot.file_not_fetched":   "I could not fetch the file %q from Telegram, so nothing was added. Please send it again.",
	"bot.staff_not_linked": "Your Telegram account is not linked to a staff user, so this was not added to ticket #%d. " +
		"Link it from the panel (POST /api/Telegram/Link) and send /start <code> to the bot in a private chat.",
	"bot.staff_only":    "Only staff can answer tickets from this chat; this was not added to ticket #%d.",
	"bot.button_reply":  "Reply",
	"bot.button_close":  "Close",
	"bot.button_cancel": "Cancel",
	"bot.button_new":    "New ticket",
	"bot.button_pick":   "Reply to #%d %s",

	// /canned <name> in the staff chat (adapters/telegram/canned.go).
	"bot.canned_sent":    "Sent the canned reply %q on ticket #%d:\n\n%s",
	"bot.canned_unknown": "There is no canned reply %q. The canned replies: %s",
	"bot.canned_none":    "There are no canned replies yet; staff create them in the panel (POST /api/staff/CannedReply).",
	"bot.canned_usage":   "Reply to a ticket's post with /canned <name> to send that canned reply. The canned replies: %s",

	// In a ticket's forum topic of the staff chat (adapters/telegram/topic_commands.go).
	"bot.topic_help":          "In a ticket's topic, whatever you write goes to the customer. Commands: /note <text> — an internal note; /progress, /resolve, /close — set the status; /assign me, /assign <department> — assign the ticket; /canned <name> — send a canned reply.",
	"bot.note_empty":          "Write the note after the command: /note <text>.",
	"bot.note_added":          "Internal note added to ticket #%d; the customer does not see it.",
	"bot.not_changed":         "Ticket #%d was not changed: %s",
	"bot.status_already":      "Ticket #%d is %s already.",
	"bot.assign_usage":        "Write whom to assign the ticket to: /assign me, or /assign <department>.",
	"bot.assigned_me":         "Ticket #%d is assigned to you.",
	"bot.assigned_department": "Ticket #%d is assigned to the department %s.",
	"bot.no_departments":      "There are no departments yet; admins create them in the panel.",
	"bot.department_unknown":  "There is no department %q. The departments: %s",
}
