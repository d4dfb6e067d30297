package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/core"
)

// The helpers of the change-log suite (changes.go), and its claims on a store shared by
// several nodes.

// createWebhook stores a webhook through the port and returns it with its ID.
func (d *desk) createWebhook(t *testing.T, url string, events ...core.ChangeType) core.Webhook {
	t.Helper()
	w := core.Webhook{URL: url, Events: events, Secret: core.WebhookSecretPrefix + "c2VjcmV0", CreatedAt: d.clock.Now()}
	d.write(t, func(tx core.Tx) error { return tx.CreateWebhook(ctx, &w) })
	if w.ID == 0 {
		t.Fatal("CreateWebhook set no ID")
	}
	return w
}

// changes lists the change log as f selects it.
func (d *desk) changes(t *testing.T, f core.ChangeFilter) []core.Change {
	t.Helper()
	var list []core.Change
	d.read(t, func(tx core.ReadTx) (err error) { list, err = tx.Changes(ctx, f); return })
	return list
}

// deliveries lists a webhook's deliveries, newest first.
func (d *desk) deliveries(t *testing.T, webhookID int64) []core.WebhookDelivery {
	t.Helper()
	var list []core.WebhookDelivery
	d.read(t, func(tx core.ReadTx) (err error) {
		list, err = tx.WebhookDeliveries(ctx, webhookID, core.Page{Number: 1, Size: 200})
		return
	})
	return list
}

// webhook reads a webhook through the port.
func (d *desk) webhook(t *testing.T, id int64) *core.Webhook {
	t.Helper()
	var w *core.Webhook
	d.read(t, func(tx core.ReadTx) (err error) { w, err = tx.Webhook(ctx, id); return })
	return w
}

// addChange writes a change through the port and returns it with its ID.
func (d *desk) addChange(t *testing.T, c core.Change) core.Change {
	t.Helper()
	if c.At.IsZero() {
		c.At = d.clock.tick(time.Second)
	}
	d.write(t, func(tx core.Tx) error { return tx.AddChange(ctx, &c) })
	if c.ID == 0 {
		t.Fatal("AddChange set no ID")
	}
	return c
}

func changeIDs(list []core.Change) []int64 {
	out := []int64{}
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

func changeTypes(list []core.Change) []core.ChangeType {
	out := []core.ChangeType{}
	for _, c := range list {
		out = append(out, c.Type)
	}
	return out
}

func deliveryChanges(list []core.WebhookDelivery) []int64 {
	out := []int64{}
	for _, d := range list {
		out = append(out, d.ChangeID)
	}
	return out
}

func jobIDs(list []core.WebhookJob) []int64 {
	out := []int64{}
	for _, j := range list {
		out = append(out, j.Delivery.ID)
	}
	return out
}

// sameChange compares changes, their times with Equal.
func sameChange(a, b core.Change) bool {
	if !a.At.Equal(b.At) {
		return false
	}
	// The feed position is checked where the feed is read: a change read otherwise (a
	// delivery's) may not be numbered yet.
	a.At, b.At, a.Seq, b.Seq = time.Time{}, time.Time{}, 0, 0
	return a == b
}

// testDeliveryClaims: on a store shared by nodes DueWebhooks claims what it returns, as
// DueIn claims notifications (testClaims).
func testDeliveryClaims(t *testing.T, open Opener) {
	d := newDesk(t, open, core.Options{})
	c, ok := d.store.(claimer)
	if !ok {
		t.Skip("the store's DueWebhooks claims nothing: one process delivers its webhooks")
	}
	ttl := c.ClaimTTL()
	w := d.createWebhook(t, "https://panel.example/hook", core.ChangeMessageCreated)
	for range 30 {
		d.addChange(t, core.Change{Type: core.ChangeMessageCreated, At: epoch, AccountID: 1})
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	taken := map[int64]int{}
	start := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			<-start
			for {
				list, err := d.store.DueWebhooks(ctx, epoch, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(list) == 0 {
					return
				}
				mu.Lock()
				for _, j := range list {
					taken[j.Delivery.ID]++
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	dels := d.deliveries(t, w.ID)
	if len(dels) != 30 {
		t.Fatalf("%d deliveries, want 30", len(dels))
	}
	for _, dl := range dels {
		if taken[dl.ID] != 1 {
			t.Errorf("delivery %d returned %d times by concurrent passes, want once", dl.ID, taken[dl.ID])
		}
	}
	due := func(now time.Time) []core.WebhookJob {
		t.Helper()
		list, err := d.store.DueWebhooks(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	if got := due(epoch.Add(ttl - time.Second)); len(got) != 0 {
		t.Errorf("due while claimed: %v, want none", jobIDs(got))
	}
	again := epoch.Add(ttl + time.Second)
	if got := due(again); len(got) != 30 {
		t.Errorf("%d due once the claims expired, want 30", len(got))
	}
	// An outcome ends the claim.
	retryAt := again.Add(time.Second)
	if _, err := d.store.RecordWebhook(ctx, core.WebhookOutcome{DeliveryID: dels[0].ID, WebhookID: w.ID, State: core.DeliveryPending,
		Attempts: 1, At: again, Next: retryAt, LastStatus: 503}); err != nil {
		t.Fatal(err)
	}
	if got, want := jobIDs(due(retryAt)), []int64{dels[0].ID}; !slices.Equal(got, want) {
		t.Errorf("due at the retry while the others are claimed: %v, want %v", got, want)
	}
}
