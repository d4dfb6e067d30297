package core

import "testing"

func TestActivity_RoundTrip(t *testing.T) {
	for _, a := range []Activity{
		{Kind: ActivityReply, Actor: 3},
		{Kind: ActivityStatus},
		{Kind: ActivitySplitFrom, Actor: 3, Other: 12},
		{Kind: ActivityMergedInto, Actor: 1, Other: 9},
		{Kind: ActivityAssigned, Actor: 3, User: 5, Department: 2},
		{Kind: ActivityAssigned, Actor: 3, Department: 2},
		{Kind: ActivityAssigned, Actor: 3},
	} {
		got, ok := ParseActivity(FormatActivity(a))
		if !ok || got != a {
			t.Errorf("ParseActivity(FormatActivity(%+v)) = %+v, %v", a, got, ok)
		}
	}
	for _, bad := range []string{"", "first_response 2026-01-01T00:00:00Z", "status actor=x", "status who=3", "status actor=-1", "assigned actor=3 user=x"} {
		if a, ok := ParseActivity(bad); ok {
			t.Errorf("ParseActivity(%q) = %+v, want not ok", bad, a)
		}
	}
}
