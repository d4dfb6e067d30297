package core

import "testing"

// TestTransition_Table checks the state machine's table (docs/contract.md §2) cell by cell.
func TestTransition_Table(t *testing.T) {
	const locked = Status(-1)
	cells := []struct {
		from Status
		ev   Trigger
		want Status
	}{
		{StatusOpen, TriggerCustomerReply, StatusOpen},
		{StatusOpen, TriggerStaffReply, StatusOpen},
		{StatusOpen, TriggerSetInProgress, StatusInProgress},
		{StatusOpen, TriggerSetResolved, StatusResolved},
		{StatusOpen, TriggerClose, StatusClosed},

		{StatusInProgress, TriggerCustomerReply, StatusInProgress},
		{StatusInProgress, TriggerStaffReply, StatusInProgress},
		{StatusInProgress, TriggerSetInProgress, StatusInProgress},
		{StatusInProgress, TriggerSetResolved, StatusResolved},
		{StatusInProgress, TriggerClose, StatusClosed},

		{StatusResolved, TriggerCustomerReply, StatusOpen},
		{StatusResolved, TriggerStaffReply, StatusResolved},
		{StatusResolved, TriggerSetInProgress, StatusInProgress},
		{StatusResolved, TriggerSetResolved, StatusResolved},
		{StatusResolved, TriggerClose, StatusClosed},

		{StatusClosed, TriggerCustomerReply, locked},
		{StatusClosed, TriggerStaffReply, locked},
		{StatusClosed, TriggerSetInProgress, locked},
		{StatusClosed, TriggerSetResolved, locked},
		{StatusClosed, TriggerClose, StatusClosed},
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
		got, err := Transition(tt.from, TriggerStaffReply, true)
		if err != nil || got != tt.want {
			t.Errorf("staff reply on %v with setting on: got %v, %v; want %v", tt.from, got, err, tt.want)
		}
	}
	if _, err := Transition(StatusClosed, TriggerStaffReply, true); ErrorCode(err) != ECONFLICT {
		t.Errorf("staff reply on Closed with setting on: %v, want ECONFLICT", err)
	}
}

func TestTransition_UnknownInput(t *testing.T) {
	if _, err := Transition(Status(9), TriggerClose, false); ErrorCode(err) != EINVALID {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := Transition(StatusOpen, Trigger(42), false); ErrorCode(err) != EINVALID {
		t.Errorf("unknown event: %v", err)
	}
}
