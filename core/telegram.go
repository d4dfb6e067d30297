package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// TelegramLinkTTL is how long a Telegram link code can be used.
const TelegramLinkTTL = 15 * time.Minute

// telegramCodeBytes is the randomness of a link code: 144 bits, 24 characters of
// base64url, which fits Telegram's deep-link "start" parameter ([A-Za-z0-9_-], ≤ 64).
const telegramCodeBytes = 18

// TelegramLinkCode is a stored one-time code; only its hash is kept.
type TelegramLinkCode struct {
	Hash      string
	UserID    int64
	ExpiresAt time.Time
	CreatedAt time.Time
}

// HashTelegramCode returns the stored form of a link code.
func HashTelegramCode(code string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(code)))
	return hex.EncodeToString(sum[:])
}

// CreateTelegramLink makes a one-time code that links the actor's user to the Telegram
// account that sends "/start <code>" to the bot within TelegramLinkTTL. The code is shown
// once; only its hash is stored.
//
// Returns EUNAUTHORIZED without a user.
func (s *Service) CreateTelegramLink(ctx context.Context, actor Actor) (code string, expires time.Time, err error) {
	if actor.User == nil {
		return "", time.Time{}, Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	b := make([]byte, telegramCodeBytes)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, err
	}
	code = base64.RawURLEncoding.EncodeToString(b)
	now := s.clock.Now()
	c := &TelegramLinkCode{Hash: HashTelegramCode(code), UserID: actor.User.ID, ExpiresAt: now.Add(TelegramLinkTTL), CreatedAt: now}
	err = s.store.Write(ctx, func(tx Tx) error { return tx.CreateTelegramLinkCode(ctx, c) })
	if err != nil {
		return "", time.Time{}, err
	}
	return code, c.ExpiresAt, nil
}

// LinkTelegram uses a link code: the code's user is linked to telegramUserID, and the code
// is gone. A Telegram account linked to another user before is moved to this one.
//
// Returns ENOTFOUND for an unknown, used or expired code, EINVALID for a zero Telegram ID.
func (s *Service) LinkTelegram(ctx context.Context, code string, telegramUserID int64) (*User, error) {
	if telegramUserID == 0 {
		return nil, Errorf(EINVALID, "Invalid Telegram user.")
	}
	invalid := Errorf(ENOTFOUND, "This link code is unknown, used or expired. Create a new one in the panel.")
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return nil, invalid
	}
	var u *User
	err := s.store.Write(ctx, func(tx Tx) error {
		userID, err := tx.TakeTelegramLinkCode(ctx, HashTelegramCode(code), s.clock.Now())
		if ErrorCode(err) == ENOTFOUND {
			return invalid
		} else if err != nil {
			return err
		}
		if err := tx.SetTelegramID(ctx, userID, telegramUserID); err != nil {
			return err
		}
		u, err = tx.User(ctx, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UnlinkTelegram removes the link of a Telegram user and returns the user it was linked
// to. Returns ENOTFOUND if it was not linked.
func (s *Service) UnlinkTelegram(ctx context.Context, telegramUserID int64) (*User, error) {
	var u *User
	err := s.store.Write(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.UserByTelegramID(ctx, telegramUserID); err != nil {
			return err
		}
		return tx.SetTelegramID(ctx, u.ID, 0)
	})
	if err != nil {
		return nil, err
	}
	u.TelegramID = 0
	return u, nil
}

// OpenTickets lists the tickets that are not Closed in the accounts the actor belongs to,
// newest first, at most limit of them (the chat's /tickets and its "reply to…" buttons).
func (s *Service) OpenTickets(ctx context.Context, actor Actor, limit int) ([]Ticket, error) {
	if actor.User == nil {
		return nil, Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	var out []Ticket
	err := s.store.Read(ctx, func(tx ReadTx) error {
		for _, acct := range actor.User.AccountIDs {
			for _, st := range []Status{StatusOpen, StatusInProgress, StatusResolved} {
				st := st
				list, _, err := tx.Tickets(ctx, TicketFilter{AccountID: acct, Status: &st, Page: Page{Number: 1, Size: limit}})
				if err != nil {
					return err
				}
				out = append(out, list...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Newest first across accounts and statuses; IDs grow with time.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID > out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i].MessageCount = out[i].PublicMessageCount
	}
	return out, nil
}
