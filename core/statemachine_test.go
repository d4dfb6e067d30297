package core

import "testing"

// TestTransition_Table checks the state machine's table (docs/contract.md §2) cell by cell.
func TestTransition_Table(t *testing.T) {
	const locked = Status(-1)
	cells := []struct {
		from Status
		ev   Event
		want Status
	}{
		{StatusOpen, EventCustomerReply, StatusOpen},
		{StatusOpen, EventStaffReply, StatusOpen},
		{StatusOpen, EventSetInProgress, StatusInProgress},
		{StatusOpen, EventSetResolved, StatusResolved},
		{StatusOpen, EventClose, StatusClosed},

		{StatusInProgress, EventCustomerReply, StatusInProgress},
		{StatusInProgress, EventStaffReply, StatusInProgress},
		{StatusInProgress, EventSetInProgress, StatusInProgress},
		{StatusInProgress, EventSetResolved, StatusResolved},
		{StatusInProgress, EventClose, StatusClosed},

		{StatusResolved, EventCustomerReply, StatusOpen},
		{StatusResolved, EventStaffReply, StatusResolved},
		{StatusResolved, EventSetInProgress, StatusInProgress},
		{StatusResolved, EventSetResolved, StatusResolved},
		{StatusResolved, EventClose, StatusClosed},

		{StatusClosed, EventCustomerReply, locked},
		{StatusClosed, EventStaffReply, locked},
		{StatusClosed, EventSetInProgress, locked},
		{StatusClosed, EventSetResolved, locked},
		{StatusClosed, EventClose, StatusClosed},
	}
	if len(cells) != len(Statuses)*5 {
		t.Fatalf("table has %d cells, want %d", len(cells), len(Statuses)*5)
	}
	for _, c := range cells {
		t.Run(c.from.String()+"/"+c.ev.String(), func(t *testing.T) {
			got, err := Transition(c.from, c.ev, false)
			if c.want == locked {
				if ErrorCode(err) != ECONFLICT {
					t.Fatalf("got %v, %v; want ECONFLICT", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestTransition_StaffReplyInProgressSetting(t *testing.T) {
	tests := []struct {
		from Status
		want Status
	}{
		{StatusOpen, StatusInProgress},
		{StatusInProgress, StatusInProgress},
		{StatusResolved, StatusResolved},
	}
	for _, tt := range tests {
		got, err := Transition(tt.from, EventStaffReply, true)
		if err != nil || got != tt.want {
			t.Errorf("staff reply on %v with setting on: got %v, %v; want %v", tt.from, got, err, tt.want)
		}
	}
	if _, err := Transition(StatusClosed, EventStaffReply, true); ErrorCode(err) != ECONFLICT {
		t.Errorf("staff reply on Closed with setting on: %v, want ECONFLICT", err)
	}
}

func TestTransition_UnknownInput(t *testing.T) {
	if _, err := Transition(Status(9), EventClose, false); ErrorCode(err) != EINVALID {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := Transition(StatusOpen, Event(42), false); ErrorCode(err) != EINVALID {
		t.Errorf("unknown event: %v", err)
	}
}
