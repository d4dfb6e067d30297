package core

import (
	"context"
)

// Archive moves a Closed ticket out of the customer's default list (archived true) or
// back. Customers of the account and staff may do it.
//
// Returns ECONFLICT for a ticket that is not Closed, ENOTFOUND for one the actor may not see.
func (s *Service) Archive(ctx context.Context, actor Actor, ref TicketRef, archived bool) (*Ticket, error) {
	if ref.AccountID != 0 {
		if err := s.checkAccount(ctx, actor, ref.AccountID); err != nil {
			return nil, err
		}
	}
	var t *Ticket
	err := s.store.Write(ctx, func(tx Tx) error {
		var err error
		if t, err = loadTicket(ctx, tx, actor, ref); err != nil {
			return err
		}
		if archived && t.Status != StatusClosed {
			return Errorf(ECONFLICT, "Only a closed ticket can be archived.")
		}
		w, err := tx.TicketWork(ctx, t.ID, actor.User.ID)
		if err != nil {
			return err
		}
		if w.Archived == archived {
			return nil
		}
		if err := tx.SetArchived(ctx, t.ID, archived); err != nil {
			return err
		}
		kind := KindUnarchived
		if archived {
			kind = KindArchived
		}
		return tx.AddTicketEvent(ctx, &TicketEvent{TicketID: t.ID, At: s.clock.Now(), ActorUserID: actor.User.ID, Kind: kind})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
