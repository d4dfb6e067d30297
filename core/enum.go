package core

// Topic is a ticket's category; integer on the wire.
type Topic int

const (
	TopicGeneral Topic = iota
	TopicNetworking
	TopicRules
	TopicBilling
	TopicSSL
	TopicPerformance
)

// Topics lists every topic in wire order.
var Topics = []Topic{TopicGeneral, TopicNetworking, TopicRules, TopicBilling, TopicSSL, TopicPerformance}

var topicNames = [...]string{"General", "Networking", "Rules", "Billing", "SSL", "Performance"}
var topicLabels = [...]string{"General", "Networking", "Rules", "Billing", "SSL / Certificates", "Performance"}

// Valid reports whether t is a known topic.
func (t Topic) Valid() bool { return t >= TopicGeneral && t <= TopicPerformance }

// topicRange is the message of a topic outside the enum.
var topicRange = "must be an integer from " + itoa(int64(TopicGeneral)) + " to " + itoa(int64(TopicPerformance))

// String returns the enum member's name ("SSL").
func (t Topic) String() string {
	if !t.Valid() {
		return "Unknown"
	}
	return topicNames[t]
}

// Label returns the panel label ("SSL / Certificates").
func (t Topic) Label() string {
	if !t.Valid() {
		return "Unknown"
	}
	return topicLabels[t]
}

// Status is where a ticket is in its lifecycle; integer on the wire.
type Status int

const (
	StatusOpen Status = iota
	StatusInProgress
	StatusResolved
	StatusClosed
)

// Statuses lists every status in wire order.
var Statuses = []Status{StatusOpen, StatusInProgress, StatusResolved, StatusClosed}

var statusNames = [...]string{"Open", "InProgress", "Resolved", "Closed"}
var statusLabels = [...]string{"Open", "In Progress", "Resolved", "Closed"}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s >= StatusOpen && s <= StatusClosed }

// String returns the enum member's name ("InProgress").
func (s Status) String() string {
	if !s.Valid() {
		return "Unknown"
	}
	return statusNames[s]
}

// Label returns the panel label ("In Progress").
func (s Status) Label() string {
	if !s.Valid() {
		return "Unknown"
	}
	return statusLabels[s]
}

// Role is what a user may do.
type Role string

const (
	RoleCustomer Role = "customer"
	RoleStaff    Role = "staff"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleCustomer || r == RoleStaff || r == RoleAdmin }

// IsStaff reports whether r may act as staff (admins are staff too).
func (r Role) IsStaff() bool { return r == RoleStaff || r == RoleAdmin }

// Channel is where a message came from or where a notification goes.
type Channel string

const (
	ChannelAPI      Channel = "api"
	ChannelEmail    Channel = "email"
	ChannelTelegram Channel = "telegram"
)

// Author says who wrote a message.
type Author string

const (
	AuthorCustomer Author = "customer"
	AuthorStaff    Author = "staff"
	AuthorSystem   Author = "system"
)
