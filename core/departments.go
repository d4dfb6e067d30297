package core

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Department is a team tickets can be assigned to; its ID is the panel's.
type Department struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PutDepartment creates or updates a department under the panel's ID (admins).
func (s *Service) PutDepartment(ctx context.Context, actor Actor, d Department) (*Department, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var bad FieldErrors
	checkID(&bad, "id", d.ID)
	d.Name = checkName(&bad, "name", d.Name)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	err := s.store.Write(ctx, func(tx Tx) error {
		now := s.clock.Now()
		d.CreatedAt, d.UpdatedAt = now, now
		return tx.PutDepartment(ctx, &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// Departments lists the departments by name. Anyone signed in may read them: customers
// pick one when they open a ticket through the compatibility API.
func (s *Service) Departments(ctx context.Context, actor Actor) ([]Department, error) {
	if actor.User == nil {
		return nil, Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	var list []Department
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		list, err = tx.Departments(ctx)
		return err
	})
	return list, err
}

// ticketExtras stores a new ticket's department and service type.
func (s *Service) ticketExtras(ctx context.Context, tx Tx, ticketID, departmentID int64, serviceType string) error {
	if departmentID < 0 {
		return Invalid("departmentId", "must be a positive integer")
	}
	if departmentID != 0 {
		if _, err := tx.Department(ctx, departmentID); ErrorCode(err) == ENOTFOUND {
			return Invalid("departmentId", "no such department")
		} else if err != nil {
			return err
		}
	}
	serviceType = strings.TrimSpace(serviceType)
	if utf8.RuneCountInString(serviceType) > MaxNameChars || !utf8.ValidString(serviceType) {
		return Invalid("serviceType", atMostChars(MaxNameChars))
	}
	return tx.SetTicketExtras(ctx, ticketID, departmentID, serviceType)
}
