-- The blob sweep and a failed upload's clean-up ask, per blob, whether a kept raw mail
-- references it; without this index each question reads every inbound record.
CREATE INDEX inbound_messages_raw_hash ON inbound_messages (raw_hash);
