package core

import (
	"context"
	"strings"
)

// UserByEmail finds a user by address, case-insensitively. Returns ENOTFOUND if none.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u *User
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		u, err = tx.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
		return err
	})
	return u, err
}

// VisibleTicket returns a ticket the actor may see (owner, a member of its account, or
// staff). Returns ENOTFOUND otherwise.
func (s *Service) VisibleTicket(ctx context.Context, actor Actor, id int64) (*Ticket, error) {
	var t *Ticket
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		t, err = loadTicket(ctx, tx, actor, TicketRef{ID: id})
		return err
	})
	return t, err
}

// UserByTelegram finds the user linked to a Telegram user. Returns ENOTFOUND if none.
func (s *Service) UserByTelegram(ctx context.Context, telegramID int64) (*User, error) {
	if telegramID == 0 {
		return nil, Errorf(ENOTFOUND, "No user is linked to this Telegram account.")
	}
	var u *User
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		u, err = tx.UserByTelegramID(ctx, telegramID)
		return err
	})
	return u, err
}
