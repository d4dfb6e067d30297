package lang

var labelsEN = catalog{
	"topic.0":  "General",
	"topic.1":  "Networking",
	"topic.2":  "Rules",
	"topic.3":  "Billing",
	"topic.4":  "SSL / Certificates",
	"topic.5":  "Performance",
	"status.0": "Open",
	"status.1": "In Progress",
	"status.2": "Resolved",
	"status.3": "Closed",
}
