package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// runGDPR checks what an export reads and what an erasure and the retention change.
func runGDPR(t *testing.T, open Opener) {
	d := newDesk(t, open, notifyMail)
	file := func(name, content string) []core.FileRef {
		t.Helper()
		f, err := d.svc.StageFile(ctx, name, "text/plain", strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		return []core.FileRef{f}
	}
	mine := d.ticket(t, d.ann, core.NewTicket{Subject: "Ann's site", Description: "Ann here: down.", Files: file("a.txt", "ann's bytes")})
	theirs := d.ticket(t, d.cat, core.NewTicket{AccountID: 1, Subject: "Cat's", Description: "Cat asks.", Files: file("c.txt", "cat's bytes")})
	d.ticket(t, d.bob, core.NewTicket{Subject: "Bob's"})
	d.clock.tick(time.Second)
	if _, err := d.svc.StaffReply(ctx, d.sam, mine.ID, core.NewReply{Body: "Dear ANN, fixed. Anna and Annex stay."}); err != nil {
		t.Fatal(err)
	}
	raw := strings.Repeat("b", 64)
	d.reply(t, d.ann, theirs.ID, core.NewReply{Body: "Same here, Ann.", Source: &core.Source{Channel: core.ChannelEmail, Key: "<k1>", RawHash: raw}})
	rejectedRaw := strings.Repeat("c", 64)
	d.write(t, func(tx core.Tx) error {
		if err := tx.SetTelegramID(ctx, d.ann.User.ID, 555); err != nil {
			return err
		}
		return tx.RecordInbound(ctx, &core.InboundRecord{Channel: core.ChannelEmail, Key: "<k2>", Result: core.InboundRejected,
			RawHash: rejectedRaw, Sender: "Ann@Acme.Example", Subject: "s", Reason: "to ann@acme.example: no", At: epoch})
	})

	annID, email := d.ann.User.ID, d.ann.User.Email
	d.read(t, func(tx core.ReadTx) error {
		if got, err := tx.UserTicketIDs(ctx, annID); err != nil || !slices.Equal(got, []int64{mine.ID}) {
			t.Errorf("UserTicketIDs = %v, %v; want [%d]", got, err, mine.ID)
		}
		if got, err := tx.AuthoredTicketIDs(ctx, annID); err != nil || !slices.Equal(got, []int64{mine.ID, theirs.ID}) {
			t.Errorf("AuthoredTicketIDs = %v, %v; want [%d %d]", got, err, mine.ID, theirs.ID)
		}
		ns, err := tx.UserNotifications(ctx, annID, email)
		if err != nil || len(ns) == 0 {
			t.Errorf("UserNotifications = %v, %v", ns, err)
		}
		for _, n := range ns {
			if n.Recipient != email {
				t.Errorf("notification %+v is not to Ann", n)
			}
		}
		in, err := tx.UserInbound(ctx, annID, "ANN@acme.example")
		if err != nil || len(in) != 2 || in[0].Key != "<k2>" || in[1].Key != "<k1>" || in[1].RawHash != raw {
			t.Errorf("UserInbound = %+v, %v; want the rejected mail by address and the reply by message", in, err)
		}
		return nil
	})

	var hashes []string
	d.write(t, func(tx core.Tx) (err error) {
		hashes, err = tx.EraseUser(ctx, core.Erasure{UserID: annID, Email: email, TelegramID: 555, Name: "Gone", Placeholder: "gone@x.invalid",
			Scrub: func(s string) string {
				return strings.NewReplacer(email, "gone@x.invalid", "Ann", "Gone", "ANN", "Gone").Replace(s)
			}, At: d.clock.tick(time.Second)})
		return err
	})
	slices.Sort(hashes)
	if want := []string{raw, rejectedRaw, sha256Hex("ann's bytes")}; !slices.Equal(dedupe(hashes), sortedCopy(want)) {
		t.Errorf("EraseUser hashes = %v, want %v", hashes, sortedCopy(want))
	}
	d.read(t, func(tx core.ReadTx) error {
		u, err := tx.User(ctx, annID)
		if err != nil || u.Name != "Gone" || u.Email != "gone@x.invalid" || u.TelegramID != 0 || u.Language != "" || !slices.Equal(u.AccountIDs, []int64{1}) {
			t.Errorf("erased user = %+v, %v", u, err)
		}
		if _, err := tx.UserByTelegramID(ctx, 555); core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("Telegram link kept: %v", err)
		}
		tk, _ := tx.Ticket(ctx, mine.ID)
		if tk.Subject != "Gone's site" {
			t.Errorf("subject = %q", tk.Subject)
		}
		for _, id := range []int64{mine.ID, theirs.ID} {
			msgs, err := tx.Messages(ctx, id, true)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if strings.Contains(m.Body, "Ann") || strings.Contains(m.Body, "ANN") {
					t.Errorf("message %d still names her: %q", m.ID, m.Body)
				}
				if m.AuthorUserID == annID && len(m.Attachments) != 0 {
					t.Errorf("message %d keeps her attachments", m.ID)
				}
				if m.AuthorUserID == d.cat.User.ID && len(m.Attachments) != 1 {
					t.Errorf("Cat's message %d lost its attachment", m.ID)
				}
			}
		}
		ns, _ := tx.UserNotifications(ctx, annID, email)
		for _, n := range ns {
			if n.Recipient != "" || n.State == core.NotificationPending {
				t.Errorf("notification after erasure %+v, want no address and none pending", n)
			}
		}
		in, _ := tx.UserInbound(ctx, annID, email)
		for _, r := range in {
			if r.Sender != "" || r.RawHash != "" || strings.Contains(r.Reason, email) {
				t.Errorf("inbound after erasure %+v", r)
			}
		}
		return nil
	})
	d.write(t, func(tx core.Tx) error {
		_, err := tx.EraseUser(ctx, core.Erasure{UserID: 4040, Scrub: func(s string) string { return s }})
		if core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("EraseUser of nobody: %v, want ENOTFOUND", err)
		}
		return nil
	})

	// Retention: raw mails and rejected records before a time, in batches.
	d.write(t, func(tx core.Tx) error {
		for i, at := range []time.Time{epoch.Add(24 * time.Hour), epoch.Add(48 * time.Hour), epoch.Add(240 * time.Hour)} {
			for _, res := range []core.InboundResult{core.InboundTicket, core.InboundRejected} {
				r := &core.InboundRecord{Channel: core.ChannelEmail, Key: string(res) + string(rune('a'+i)), Result: res,
					RawHash: strings.Repeat(string(rune('d'+i)), 63) + string(res[0]), At: at}
				if err := tx.RecordInbound(ctx, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	before := epoch.Add(72 * time.Hour)
	purge := func(fn func(tx core.Tx) (int, []string, error)) (int, []string) {
		var n int
		var hs []string
		d.write(t, func(tx core.Tx) (err error) { n, hs, err = fn(tx); return })
		return n, hs
	}
	rawPurge := func(limit int) func(tx core.Tx) (int, []string, error) {
		return func(tx core.Tx) (int, []string, error) {
			hs, err := tx.PurgeRawMails(ctx, before, limit)
			return len(hs), hs, err
		}
	}
	rejPurge := func(limit int) func(tx core.Tx) (int, []string, error) {
		return func(tx core.Tx) (int, []string, error) { return tx.PurgeRejected(ctx, before, limit) }
	}
	// Rejected first: its three old records go (Ann's, whose raw mail the erasure took, and
	// two with raw mails); the raw purge then finds the two old accepted ones, one batch of
	// one at a time.
	if n, hs := purge(rejPurge(10)); n != 3 || len(hs) != 2 {
		t.Errorf("PurgeRejected = %d %v, want the three old rejected records, two with raw mails", n, hs)
	}
	if n, _ := purge(rejPurge(10)); n != 0 {
		t.Errorf("PurgeRejected again = %d, want 0", n)
	}
	for i, want := range []int{1, 1, 0} {
		if n, _ := purge(rawPurge(1)); n != want {
			t.Errorf("PurgeRawMails batch %d = %d, want %d", i, n, want)
		}
	}
	// What is left: the new records whole, the old accepted ones without their raw mail.
	for _, c := range []struct {
		key  string
		gone bool
		raw  bool
	}{{"ticketa", false, false}, {"ticketb", false, false}, {"ticketc", false, true}, {"rejecteda", true, false}, {"rejectedc", false, true}} {
		r, err := d.store.Inbound(ctx, core.ChannelEmail, c.key)
		switch {
		case c.gone && core.ErrorCode(err) != core.ENOTFOUND:
			t.Errorf("%s: %+v, %v; want it deleted", c.key, r, err)
		case !c.gone && (err != nil || (r.RawHash != "") != c.raw):
			t.Errorf("%s: %+v, %v; want raw mail kept %v", c.key, r, err, c.raw)
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func dedupe(s []string) []string { return slices.Compact(s) }
