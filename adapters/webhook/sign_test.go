package webhook_test

import (
	"testing"

	"github.com/helpdeskd/helpdeskd/adapters/webhook"
)

// TestSign_StandardWebhooksVector signs the example of the Standard Webhooks
// specification's reference libraries and gets their signature.
func TestSign_StandardWebhooksVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = 1614265330
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	body := []byte(`{"test": 2432232314}`)
	got, err := webhook.Sign(secret, id, ts, body)
	if err != nil || got != want {
		t.Fatalf("Sign = %q, %v; want %q", got, err, want)
	}
	for _, c := range []struct {
		name   string
		header string
		body   []byte
		ts     int64
		ok     bool
	}{
		{"itself", want, body, ts, true},
		{"among others", "v1,bm90IGl0 " + want, body, ts, true},
		{"another body", want, []byte(`{"test": 1}`), ts, false},
		{"another time", want, body, ts + 1, false},
		{"no signature", "", body, ts, false},
	} {
		if got := webhook.Verify(secret, id, c.ts, c.body, c.header); got != c.ok {
			t.Errorf("%s: Verify = %v, want %v", c.name, got, c.ok)
		}
	}
	if _, err := webhook.Sign("whsec_not base64!", id, ts, body); err == nil {
		t.Error("a secret that is not base64 signed")
	}
}
