package storecopy

// SetBulkRows sets from how many rows a table's indexes are dropped and built again, for a
// test; it returns the function that restores the default.
func SetBulkRows(n int64) func() {
	old := bulkRows
	bulkRows = n
	return func() { bulkRows = old }
}
