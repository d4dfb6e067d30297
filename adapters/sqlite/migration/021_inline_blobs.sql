-- A small raw mail is kept in the database, written in the transaction of the inbound
-- record that names it (blobs_inline.go): a file of its own cost a create, two fsyncs and a
-- rename per mail, a quarter of the daemon's CPU while mail came in fast.
CREATE TABLE inline_blobs (
	hash TEXT PRIMARY KEY,
	data BLOB NOT NULL
);
