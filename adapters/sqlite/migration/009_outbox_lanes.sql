-- The dispatcher takes the due notifications of one channel at a time (one loop per lane):
-- without the channel in the index each lane's query walks every other channel's backlog.
CREATE INDEX notifications_lane_due ON notifications (channel, next_attempt_at, id) WHERE state = 'pending';
