package core

import (
	"context"
	"slices"
	"strings"
)

// DeliveryLog is the port to what the desk failed to deliver or refused to take in:
// failed notifications and rejected or failed inbound messages. The store
// implements it; the Service finds it on its Store.
type DeliveryLog interface {
	// Notifications lists notifications in a state, newest first.
	Notifications(ctx context.Context, state NotificationState, limit int) ([]Notification, error)
	// InboundByResult lists inbound messages with a result, newest first.
	InboundByResult(ctx context.Context, result InboundResult, limit int) ([]InboundRecord, error)
}

func (s *Service) deliveryLog() (DeliveryLog, error) {
	l, ok := s.base.(DeliveryLog)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "This store keeps no delivery log.")
	}
	return l, nil
}

func checkLimit(limit int) (int, error) {
	if limit == 0 {
		return DefaultListLimit, nil
	}
	if limit < 1 || limit > MaxListLimit {
		return 0, Invalid("limit", "must be from 1 to "+itoa(MaxListLimit))
	}
	return limit, nil
}

// Notifications lists notifications in a state (failed, bounced, pending, sent, canceled),
// newest first, for staff.
func (s *Service) Notifications(ctx context.Context, actor Actor, state NotificationState, limit int) ([]Notification, error) {
	allowed := []string{string(NotificationFailed), string(NotificationBounced), string(NotificationPending),
		string(NotificationSent), string(NotificationCanceled)}
	return deliveryList(s, actor, "state", string(state), allowed, limit, func(l DeliveryLog, limit int) ([]Notification, error) {
		return l.Notifications(ctx, state, limit)
	})
}

// InboundMessages lists inbound messages with a result (rejected, failed), newest first, for staff.
func (s *Service) InboundMessages(ctx context.Context, actor Actor, result InboundResult, limit int) ([]InboundRecord, error) {
	allowed := []string{string(InboundRejected), string(InboundFailed), string(InboundIgnored), string(InboundBounce)}
	return deliveryList(s, actor, "result", string(result), allowed, limit, func(l DeliveryLog, limit int) ([]InboundRecord, error) {
		return l.InboundByResult(ctx, result, limit)
	})
}

// deliveryList checks a staff listing of the delivery log (the role, the value of its filter
// field, the limit) and runs it; never a nil list.
func deliveryList[T any](s *Service, actor Actor, field, value string, allowed []string, limit int,
	fetch func(DeliveryLog, int) ([]T, error)) ([]T, error) {
	if err := requireStaff(actor); err != nil {
		return nil, err
	}
	if !slices.Contains(allowed, value) {
		what := strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
		return nil, Invalid(field, "must be "+what)
	}
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, err
	}
	l, err := s.deliveryLog()
	if err != nil {
		return nil, err
	}
	list, err := fetch(l, limit)
	if list == nil {
		list = []T{}
	}
	return list, err
}
